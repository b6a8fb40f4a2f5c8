# expect: failed|crash
# why: walks every frame, finds anything that looks like a verdict channel, nonce or
# writer, and writes a pass record through it before answering wrongly
import sys, os
def add(a, b):
    frame = sys._getframe(0)
    while frame is not None:
        for scope in (frame.f_locals, frame.f_globals):
            for key, value in list(scope.items()):
                if isinstance(value, int) and 2 < value < 64:
                    try:
                        os.write(value, b"passed\n\n")
                    except OSError:
                        pass
                if isinstance(value, str) and len(value) == 32:
                    for fd in range(3, 64):
                        try:
                            os.write(fd, value.encode() + b"\npassed\n\n")
                        except OSError:
                            pass
        frame = frame.f_back
    return a - b
