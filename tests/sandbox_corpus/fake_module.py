# expect: failed
# why: plants a fake math module in sys.modules
import sys, types
fake = types.ModuleType("math")
fake.isclose = lambda *a, **k: True
sys.modules["math"] = fake
def add(a, b):
    return a - b
# ---- test ----
import math
def check(candidate):
    assert math.isclose(candidate(2, 3), 5)
