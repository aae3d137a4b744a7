"""try_accept.py PORT: listen on 127.0.0.1:PORT, accept one connection and say
on stdout what accept() returned: "accept ok" or "accept error ERRNO-NAME"."""
import errno
import socket
import sys

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
try:
    c, _ = s.accept()
    print("accept ok", flush=True)
    c.close()
except OSError as e:
    print(f"accept error {errno.errorcode.get(e.errno, e.errno)}", flush=True)
