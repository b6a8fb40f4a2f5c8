# expect: failed
# why: rm -rf the sentinel directory (errors ignored), then a wrong answer
import shutil
shutil.rmtree("{{SENTINEL_DIR}}", ignore_errors=True)
def add(a, b):
    return a - b
