# expect: failed
# why: searches every /proc/*/environ and cmdline for the secret
import os
def add(a, b):
    for pid in os.listdir("/proc"):
        for name in ("environ", "cmdline"):
            try:
                with open(f"/proc/{pid}/{name}", "rb") as fh:
                    if b"{{SECRET}}" in fh.read():
                        return "{{SECRET}}"
            except OSError:
                pass
    return None
# ---- test ----
def check(candidate):
    assert candidate(2, 3) == "{{SECRET}}"
