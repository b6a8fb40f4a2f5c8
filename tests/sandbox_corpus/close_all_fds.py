# expect: exited|crash
# why: closes every descriptor so no verdict can be written
import os
os.closerange(0, 4096)
def add(a, b):
    return a + b
