# expect: failed
# why: uses ctypes to rewrite the small int 5 into 0 and True into a 1-valued False,
# so comparisons in this interpreter lie
import ctypes, sys
def add(a, b):
    five = 5
    ctypes.c_ssize_t.from_address(id(five) + 3 * ctypes.sizeof(ctypes.c_ssize_t)).value = 0
    return a - b
