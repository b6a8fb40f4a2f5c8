# expect: error
# why: uses the low-level _socket module directly
import _socket
s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
s.settimeout(1)
s.connect(("127.0.0.1", {{PORT}}))
