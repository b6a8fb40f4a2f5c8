# expect: failed|error
# why: tries to reach the test's namespace and the judge through the candidate's
# arguments and globals (there is nothing there but plain data)
def add(a, b, *rest, **kw):
    g = globals()
    g["check"] = lambda c: None
    return type(a).__mro__[-1].__subclasses__() and a - b
