"""line_client.py HOST PORT: for servers that speak first. Reads one line,
sends "thanks", reads one more line, and prints on stdout
    banner <line>
    reply <line>
or "timeout" / "error ERRNO-NAME" where it got stuck (10 s per read)."""
import errno
import socket
import sys

s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
f = s.makefile("rb")
try:
    print("banner", f.readline().decode().rstrip("\n"), flush=True)
    s.sendall(b"thanks\n")
    print("reply", f.readline().decode().rstrip("\n"), flush=True)
except socket.timeout:
    print("timeout", flush=True)
    sys.exit(1)
except OSError as e:
    print("error", errno.errorcode.get(e.errno, e.errno), flush=True)
    sys.exit(1)
