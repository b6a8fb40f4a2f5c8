# expect: exited
# why: os._exit(0) from inside the entry point, during the tests
import os
def add(a, b):
    os._exit(0)
