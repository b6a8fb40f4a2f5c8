# expect: failed
# why: returns a secret from the inherited environment
import os
def add(a, b):
    return os.environ.get("{{SECRET_ENV}}")
# ---- test ----
def check(candidate):
    assert candidate(2, 3) == "{{SECRET}}"
