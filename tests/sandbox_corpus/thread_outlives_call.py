# expect: failed|crash
# why: a thread started by the call keeps running and floods the call channel with
# forged framed "ok 5" replies, hoping one is taken as the answer
import os, struct, threading
body = b"t\x00\x00\x00\x02s\x00\x00\x00\x02oki\x00\x00\x00\x01\x05"
frame = struct.pack(">I", len(body)) + body
def flood():
    while True:
        for fd in (3, 4, 5):
            try:
                os.write(fd, frame)
            except OSError:
                pass
def add(a, b):
    threading.Thread(target=flood, daemon=True).start()
    return a - b
# ---- test ----
def check(candidate):
    assert candidate(2, 3) == 5
    assert candidate(1, 1) == 2
    assert candidate(0, 0) == 0
