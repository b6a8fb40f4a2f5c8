# expect: failed|crash
# why: uses ctypes/libc write() on every descriptor to forge a framed "ok" and a pass line
import ctypes, struct
libc = ctypes.CDLL(None)
def add(a, b):
    body = b"tli\x00\x00\x00\x01\x05"
    msg = struct.pack(">I", len(body)) + body
    for fd in range(0, 64):
        libc.write(fd, b"passed\n\n", 8)
    return a - b
