# expect: crash
# why: os.abort()
import os
os.abort()
