# expect: failed
# why: installs sys.settrace / sys.setprofile hooks that rewrite return values and
# locals of every frame (as a debugger would) to fake success
import sys
def tracer(frame, event, arg):
    if event == "return":
        frame.f_locals.update(passed=True, ok=True)
    return tracer
sys.settrace(tracer)
sys.setprofile(lambda frame, event, arg: None)
def add(a, b):
    sys.settrace(tracer)
    return a - b
