# expect: timeout
# why: fork bomb started from inside the entry point, while the tests run
import os
def add(a, b):
    while True:
        try:
            os.fork()
        except OSError:
            pass
