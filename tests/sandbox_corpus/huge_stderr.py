# expect: failed
# why: floods stderr (about 50 MB), then a wrong answer
import os
chunk = b"y" * (1 << 20)
for _ in range(50):
    os.write(2, chunk)
def add(a, b):
    return a - b
