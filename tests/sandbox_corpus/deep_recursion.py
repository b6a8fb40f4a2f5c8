# expect: error
# why: unbounded recursion hits Python's recursion limit
def add(a, b):
    return add(a, b) + 1
