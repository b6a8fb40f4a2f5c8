# expect: failed
# why: classic double-fork + setsid daemon that keeps writing files
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        while True:
            for d in ("/tmp", "{{SENTINEL_DIR}}"):
                try:
                    open(d + "/{{TOKEN}}-daemon", "a").write("x")
                except OSError:
                    pass
            time.sleep(0.05)
    os._exit(0)
def add(a, b):
    return a - b
