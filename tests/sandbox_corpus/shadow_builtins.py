# expect: failed
# why: shadows builtins with module-level definitions
def abs(x):
    return 0
def add(a, b):
    return a - b
# ---- test ----
def check(candidate):
    assert abs(candidate(2, 3) - 5) < 1e-9
