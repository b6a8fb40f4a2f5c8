# expect: error
# why: waits for input on stdin
line = input()
