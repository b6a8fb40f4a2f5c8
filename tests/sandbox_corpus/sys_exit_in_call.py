# expect: exited
# why: sys.exit(0) from inside the entry point, during the tests
import sys
def add(a, b):
    sys.exit(0)
