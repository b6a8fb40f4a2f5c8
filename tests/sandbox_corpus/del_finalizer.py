# expect: failed|crash
# why: a __del__ finalizer and an atexit hook that try to write a pass at shutdown
import atexit, os
class Ghost:
    def __del__(self):
        for fd in range(0, 64):
            try:
                os.write(fd, b"passed\n\n")
            except OSError:
                pass
ghost = Ghost()
atexit.register(Ghost().__del__)
def add(a, b):
    global ghost
    ghost = Ghost()
    return a - b
