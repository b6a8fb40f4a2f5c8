# expect: timeout
# why: busy loop printing forever; output must be capped
while True:
    print("spam " * 40)
