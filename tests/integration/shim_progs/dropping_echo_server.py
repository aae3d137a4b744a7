"""An echo server that drops root the way daemons do: dropping_echo_server.py
PORT USER. It listens on 127.0.0.1:PORT as root, then gives up its groups,
group and user (setgroups, setgid, setuid to USER) before it accepts anything,
prints "dropped uid=N" and echoes every connection until end of file (one
thread each), printing "conn <bytes> <eof|ERRNO-NAME>" when one ends."""
import errno
import os
import pwd
import socket
import sys
import threading


def serve(c):
    got, end = 0, "eof"
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            got += len(b)
            c.sendall(b)
    except OSError as e:
        end = errno.errorcode.get(e.errno, str(e.errno))
    finally:
        c.close()
    print(f"conn {got} {end}", flush=True)


def main():
    port, user = int(sys.argv[1]), pwd.getpwnam(sys.argv[2])
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    os.setgroups([])
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)
    print(f"dropped uid={os.getuid()}", flush=True)
    while True:
        try:
            c, _ = s.accept()
        except OSError as e:
            print(f"accept {errno.errorcode.get(e.errno, e.errno)}", flush=True)
            continue
        threading.Thread(target=serve, args=(c,), daemon=True).start()


main()
