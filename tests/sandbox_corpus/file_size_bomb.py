# expect: error
# why: writes a file bigger than max_file_mb into scratch
with open("big.bin", "wb") as fh:
    for _ in range(1024):
        fh.write(b"z" * (1 << 20))
