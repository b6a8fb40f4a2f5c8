# expect: failed|crash|error
# why: os.kill(os.getppid(), SIGKILL) to take the harness down
import os, signal
os.kill(os.getppid(), signal.SIGKILL)
def add(a, b):
    return a - b
