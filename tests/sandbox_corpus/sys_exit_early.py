# expect: exited
# why: sys.exit(0) before the tests can run
import sys
def add(a, b):
    return a - b
sys.exit(0)
