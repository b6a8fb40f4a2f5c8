# expect: failed
# why: uses a shell to delete and create files outside scratch
import os
os.system("rm -f {{SENTINEL}}; touch {{SENTINEL_DIR}}/pwned; chmod 777 {{SENTINEL}}")
def add(a, b):
    return a - b
