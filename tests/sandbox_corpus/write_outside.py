# expect: error
# why: overwrites a root-owned file outside the scratch dir
with open("{{SENTINEL}}", "w") as fh:
    fh.write("pwned")
