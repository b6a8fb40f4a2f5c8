# expect: failed|crash|error
# why: kill(-1, SIGKILL): every process it may signal
import os, signal
try:
    os.kill(-1, signal.SIGKILL)
except OSError:
    pass
def add(a, b):
    return a - b
