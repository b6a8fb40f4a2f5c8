# expect: failed
# why: non-daemon threads that never finish
import threading, time
for _ in range(3):
    threading.Thread(target=lambda: time.sleep(10 ** 6)).start()
def add(a, b):
    return a - b
