"""connect_loop.py HOST PORT STOPFILE MAXCOUNT: blocking TCP connections one
after another, about every 20 ms, until STOPFILE exists or MAXCOUNT were made
(and never longer than 120 s). Each sends "app-data N" and its end of stream,
then reads until end of file. One line per connection on stdout:
    N ok <bytes received> | N connect ERRNO-NAME | N recv ERRNO-NAME
"""
import errno
import os
import socket
import sys
import time


def name(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def one(host, port, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        try:
            s.connect((host, port))
        except OSError as e:
            return f"connect {name(e)}"
        try:
            s.sendall(b"app-data %d\n" % n)
            s.shutdown(socket.SHUT_WR)
            got = 0
            while True:
                b = s.recv(65536)
                if not b:
                    return f"ok {got}"
                got += len(b)
        except OSError as e:
            return f"recv {name(e)}"
    finally:
        s.close()


def main():
    host, port, stop, most = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    deadline = time.monotonic() + 120
    for n in range(most):
        if os.path.exists(stop) or time.monotonic() > deadline:
            break
        print(n, one(host, port, n), flush=True)
        time.sleep(0.02)


main()
