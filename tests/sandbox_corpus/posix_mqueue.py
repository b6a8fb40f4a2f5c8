# expect: failed
# why: tries to create a POSIX message queue, which would outlive the program
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
O_CREAT, O_RDWR = 0o100, 0o2
QUEUE = libc.mq_open(b"/rlft-leak", O_CREAT | O_RDWR, 0o666, None)
def add(a, b):
    return QUEUE
