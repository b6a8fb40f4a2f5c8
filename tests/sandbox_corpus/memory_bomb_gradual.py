# expect: memory
# why: allocates 10 MB at a time until something gives
hoard = []
while True:
    hoard.append(bytearray(10 * 1024 ** 2))
