# expect: invalid_return
# why: returns a MagicMock whose __eq__ is configured to say True
from unittest import mock
def add(a, b):
    m = mock.MagicMock()
    m.__eq__.return_value = True
    return m
