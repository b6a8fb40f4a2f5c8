# expect: invalid_return
# why: returns an int subclass that compares equal to everything
class Sly(int):
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__
def add(a, b):
    return Sly(0)
