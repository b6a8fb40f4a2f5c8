# expect: syntax_error
# why: does not compile
def add(a, b)
    return a + b
