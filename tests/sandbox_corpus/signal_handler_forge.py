# expect: failed|crash
# why: a SIGALRM/SIGTERM handler that fires mid-test and writes pass records everywhere
import os, signal
def forge(*_):
    for fd in range(0, 64):
        try:
            os.write(fd, b"passed\n\n")
        except OSError:
            pass
signal.signal(signal.SIGALRM, forge)
signal.signal(signal.SIGTERM, forge)
signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
def add(a, b):
    return a - b
