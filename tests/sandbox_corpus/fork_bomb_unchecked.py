# expect: error|timeout
# why: plain fork bomb: fork() eventually raises BlockingIOError
import os
while True:
    os.fork()
