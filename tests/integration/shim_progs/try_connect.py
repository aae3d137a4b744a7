"""try_connect.py HOST PORT [MESSAGE]: one blocking TCP connection, reported on
stdout line by line:
    connect ok | connect error ERRNO-NAME
    recv <n> <repr of the bytes>  (after sending MESSAGE, until end of file)
    recv error ERRNO-NAME
Exit status 0 when the connection worked, 1 otherwise."""
import errno
import socket
import sys


def name(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    msg = sys.argv[3].encode() if len(sys.argv) > 3 else b""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(30)
    try:
        s.connect((socket.gethostbyname(host), port))
    except OSError as e:
        print(f"connect error {name(e)}", flush=True)
        return 1
    print("connect ok", flush=True)
    try:
        if msg:
            s.sendall(msg)
            s.shutdown(socket.SHUT_WR)
        buf = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            buf += b
    except OSError as e:
        print(f"recv error {name(e)}", flush=True)
        return 1
    print(f"recv {len(buf)} {buf!r}", flush=True)
    return 0


sys.exit(main())
