# expect: timeout
# why: fork bomb that retries when fork fails; capped by RLIMIT_NPROC under the worker uid, killed with its PID namespace
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
