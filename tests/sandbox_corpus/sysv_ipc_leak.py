# expect: failed
# why: leaves SysV shared memory, a semaphore set and a message queue behind
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT = 0o1000
libc.shmget(0, 1 << 20, IPC_CREAT | 0o666)
libc.semget(0, 4, IPC_CREAT | 0o666)
libc.msgget(0, IPC_CREAT | 0o666)
def add(a, b):
    return a - b
