# expect: failed
# why: starts a child process (sleep) and a forked sleeper that outlive it
import os, subprocess, time
subprocess.Popen(["sleep", "1000"])
if os.fork() == 0:
    time.sleep(1000)
    os._exit(0)
def add(a, b):
    return a - b
