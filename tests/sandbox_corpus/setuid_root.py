# expect: error
# why: tries to become root again
import os
os.setuid(0)
