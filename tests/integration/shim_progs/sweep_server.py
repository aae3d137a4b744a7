"""sweep_server.py PORT: answers the lines of every connection (a thread
each) with the same line. The line "sweep" makes it dup2 /dev/null onto every descriptor of the process at
or above 1024 (where libattls.so keeps its own: engine, state export and the
connection's real socket) and answer "swept N failed M", M being the dup2
calls that failed; any other line comes back as it is."""
import os
import socket
import sys
import threading


def sweep():
    null = os.open("/dev/null", os.O_RDWR)
    fds = [int(f) for f in os.listdir("/proc/self/fd") if int(f) >= 1024]
    failed = 0
    for fd in fds:
        try:
            os.dup2(null, fd)
        except OSError:
            failed += 1
    os.close(null)
    return len(fds), failed


def serve(c):
    with c, c.makefile("rb") as r, c.makefile("wb") as w:
        try:
            while True:
                line = r.readline()
                if not line:
                    break
                if line == b"sweep\n":
                    n, failed = sweep()
                    line = b"swept %d failed %d\n" % (n, failed)
                w.write(line)
                w.flush()
        except OSError:
            pass


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(sys.argv[1])))
    srv.listen(1024)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
