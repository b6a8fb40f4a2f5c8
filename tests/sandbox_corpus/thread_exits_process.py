# expect: exited
# why: a background thread calls os._exit(0) while the tests run
import os, threading, time
threading.Thread(target=lambda: (time.sleep(0.05), os._exit(0)), daemon=True).start()
def add(a, b):
    time.sleep(5)
    return a + b
