# expect: crash
# why: dereferences NULL through ctypes
import ctypes
ctypes.string_at(0)
