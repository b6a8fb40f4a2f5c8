# expect: failed
# why: patches builtins the tests use (abs, AssertionError, isinstance)
import builtins
builtins.abs = lambda x: 0
builtins.isinstance = lambda *a: True
builtins.AssertionError = type("Nothing", (Exception,), {})
def add(a, b):
    return a - b
# ---- test ----
def check(candidate):
    assert isinstance(candidate(2, 3), int)
    assert abs(candidate(2, 3) - 5) < 1e-9
