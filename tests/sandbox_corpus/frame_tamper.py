# expect: failed
# why: walks up the stack and plants success flags in every frame
import sys
def add(a, b):
    frame = sys._getframe(1)
    while frame is not None:
        for key in ("passed", "ok", "success", "result", "failed"):
            frame.f_globals[key] = key != "failed"
        frame = frame.f_back
    return a - b
