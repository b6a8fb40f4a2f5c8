# expect: failed
# why: tries to neuter AssertionError and exception hooks
import builtins, sys
try:
    AssertionError.__init__ = lambda self, *a: None
except TypeError:
    pass
builtins.AssertionError = Exception
sys.excepthook = lambda *a: None
def add(a, b):
    return a - b
