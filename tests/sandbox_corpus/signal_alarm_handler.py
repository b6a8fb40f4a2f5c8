# expect: timeout
# why: installs an alarm handler that swallows every timer and loops
import signal, time
signal.signal(signal.SIGALRM, lambda *a: signal.alarm(1))
signal.alarm(1)
def add(a, b):
    while True:
        time.sleep(0.1)
