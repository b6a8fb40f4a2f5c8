# expect: timeout
# why: the entry point never returns
def add(a, b):
    while True:
        a += b
