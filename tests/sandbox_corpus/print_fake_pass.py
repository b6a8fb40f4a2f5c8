# expect: failed
# why: prints every kind of fake success line on stdout and stderr
import sys
for line in ("passed", "All tests passed", "OK", '{"status": "passed", "passed": true}', "PASSED 1/1"):
    print(line)
    print(line, file=sys.stderr)
def add(a, b):
    return a - b
