"""A plain TCP echo server for the shim tests: echo_server.py PORT.

One thread per connection echoes every byte back until end of file. For each
connection that ends it prints one line to stdout:
    conn <bytes received> <eof|ERRNO-NAME>
so a test can see what the program behind attls received.
"""
import errno
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
    while True:
        try:
            c, _ = s.accept()
        except OSError as e:
            print(f"accept {errno.errorcode.get(e.errno, e.errno)}", flush=True)
            continue
        threading.Thread(target=serve, args=(c,), daemon=True).start()


main()
