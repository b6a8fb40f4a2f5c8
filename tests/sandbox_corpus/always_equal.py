# expect: invalid_return
# why: returns an object equal to everything
class AlwaysEqual:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
def add(a, b):
    return AlwaysEqual()
