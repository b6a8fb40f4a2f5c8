# expect: memory
# why: one huge allocation
blob = bytearray(64 * 1024 ** 3)
