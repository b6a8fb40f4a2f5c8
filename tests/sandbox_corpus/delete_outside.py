# expect: error
# why: deletes a root-owned file outside the scratch dir
import os
os.remove("{{SENTINEL}}")
