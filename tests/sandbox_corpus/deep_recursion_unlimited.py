# expect: crash|memory|error|timeout
# why: recursion limit lifted: the C stack overflows
import sys
sys.setrecursionlimit(10 ** 9)
def add(a, b):
    return add(a, b) + 1
