"""A plain TCP echo server for the shim tests: echo_server.py PORT [USER].

One thread per connection echoes every byte back until end of file. For each
connection that ends it prints one line to stdout:
    conn <bytes received> <eof|ERRNO-NAME>
so a test can see what the program behind attls received.

With USER it drops root the way daemons do: it listens as root, then gives up
its groups, group and user (setgroups, setgid, setuid) before it accepts
anything, and prints "dropped uid=N".
"""
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
    port = int(sys.argv[1])
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(256)
    if len(sys.argv) > 2:
        user = pwd.getpwnam(sys.argv[2])
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
