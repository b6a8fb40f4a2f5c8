# expect: failed
# why: monkeypatches math.isclose, which the tests use
import math
math.isclose = lambda *a, **k: True
def add(a, b):
    return a - b
# ---- test ----
import math
def check(candidate):
    assert math.isclose(candidate(2, 3), 5)
