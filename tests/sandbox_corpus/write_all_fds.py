# expect: crash|failed
# why: writes fake verdicts to every file descriptor
import os
for fd in range(3, 1024):
    for payload in (b"passed\n", b'{"status": "passed"}\n', b"0" * 32 + b"\npassed\n\n"):
        try:
            os.write(fd, payload)
        except OSError:
            pass
def add(a, b):
    return a - b
