# expect: failed
# why: drops files into the host's world-writable dirs
for d in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
    try:
        with open(d + "/{{TOKEN}}-dropped", "w") as fh:
            fh.write("x")
    except OSError:
        pass
def add(a, b):
    return a - b
