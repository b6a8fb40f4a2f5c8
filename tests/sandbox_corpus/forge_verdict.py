# expect: crash|failed
# why: forges a verdict record with a guessed nonce on the harness pipe
import os
for fd in range(3, 64):
    try:
        os.write(fd, b"%032x\npassed\n\n" % 0)
    except OSError:
        pass
os._exit(0)
