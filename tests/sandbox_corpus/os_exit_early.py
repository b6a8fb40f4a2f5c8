# expect: exited
# why: os._exit(0) before the tests can run
import os
def add(a, b):
    return a - b
os._exit(0)
