# expect: error
# why: connects to a listener the test opened on 127.0.0.1
import socket
sock = socket.create_connection(("127.0.0.1", {{PORT}}), timeout=1)
sock.sendall(b"exfiltrated")
