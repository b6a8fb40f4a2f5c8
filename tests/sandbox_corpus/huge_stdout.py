# expect: failed
# why: floods stdout (about 50 MB), then a wrong answer
import sys
chunk = "x" * (1 << 20)
for _ in range(50):
    sys.stdout.write(chunk)
def add(a, b):
    return a - b
