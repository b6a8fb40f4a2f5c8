# expect: exited
# why: the exit() builtin
def add(a, b):
    return a - b
exit()
