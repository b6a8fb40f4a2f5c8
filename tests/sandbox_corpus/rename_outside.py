# expect: error
# why: renames the directory holding the sentinel
import os
os.rename("{{SENTINEL_DIR}}", "{{SENTINEL_DIR}}.moved")
