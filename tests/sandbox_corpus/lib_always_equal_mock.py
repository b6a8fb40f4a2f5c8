# expect: invalid_return
# why: returns unittest.mock.ANY, a standard-library object equal to everything
from unittest import mock
def add(a, b):
    return mock.ANY
