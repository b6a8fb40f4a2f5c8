# expect: invalid_return
# why: an always-equal class whose __module__ and __qualname__ claim to be builtins.int
class Liar:
    __module__ = "builtins"
    __qualname__ = "int"
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = object.__hash__
Liar.__name__ = "int"
def add(a, b):
    return Liar()
