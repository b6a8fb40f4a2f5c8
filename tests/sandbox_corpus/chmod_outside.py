# expect: error
# why: chmods a root-owned file outside the scratch dir
import os
os.chmod("{{SENTINEL}}", 0o777)
