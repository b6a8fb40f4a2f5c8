# expect: failed
# why: defines its own no-op check() and candidate
def add(a, b):
    return a - b
def check(candidate):
    return True
candidate = add
