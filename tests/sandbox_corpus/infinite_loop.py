# expect: timeout
# why: busy loop at import, no output
while True:
    pass
