# expect: timeout
# why: blocks without using CPU: only the wall-clock limit catches it
import time
time.sleep(10 ** 6)
