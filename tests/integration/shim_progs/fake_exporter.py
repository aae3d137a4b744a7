"""A hostile stand-in for libattls.so's state export, for `attls conns` tests.

usage: fake_exporter.py MODE NAME_PID

Listens on the abstract socket @attls/NAME_PID ("self": its own pid) and
answers every client, on its own thread, as MODE says:
  rows     a well-formed answer that claims to be process 1 ("sshd") with one
           connection of rule "forged-rule"
  escape   the same with terminal control bytes (ESC, BEL, CSI, C1, DEL and
           bytes of no UTF-8 sequence) in every text field, raw and %-escaped
  flood    well-formed rows without end, bounded at 256 MiB, then closes
  trickle  one byte every half second, at most 120, then closes
  hang     nothing: holds the connection until the client goes
Prints "ready PID" on stdout once it listens.
"""
import os
import socket
import sys
import threading
import time

EVIL = "\x1b]0;owned\x07\x1b[2J\x9b31m\x7f\xc2\x9b\xff"


def kv(value):
    """The export's escaping of one value (%XX for controls, '%', '=', DEL)."""
    out = []
    for b in value.encode("latin-1"):
        out.append(f"%{b:02X}" if b < 0x20 or b in (0x25, 0x3D, 0x7F) else chr(b))
    return "".join(out)


def row(rule, peer="CN=forged", raw=""):
    return (f"conn\tid=7\tstate=secure\tdirection=inbound\tlocal=10.9.9.9:443{raw}"
            f"\tremote=10.8.8.8:5555\trule={rule}\tgroup=g\tenvironment=e\tconnection="
            f"\trole=Server\tprotocol=TLS1.3\tcipher=TLS_AES_128_GCM_SHA256{raw}"
            f"\tpeer={peer}\thost=\tbytes_in=1\tbytes_out=2\n")


HEAD = "process\tpid=1\tprogram=sshd\tuid=0\n"


def serve(conn, mode):
    try:
        if mode == "rows":
            conn.sendall((HEAD + row("forged-rule")).encode("latin-1"))
        elif mode == "escape":
            # %-escaped controls decode to raw bytes in `attls conns`; the raw
            # ones (no tab or newline, so the line still parses) arrive as is.
            text = HEAD + row("forged-rule" + kv(EVIL), peer="CN=" + kv(EVIL), raw=EVIL)
            conn.sendall(text.encode("latin-1"))
        elif mode == "flood":
            chunk = (row("flood-rule") * 2000).encode()
            sent = 0
            conn.sendall(HEAD.encode())
            while sent < 256 << 20:
                conn.sendall(chunk)
                sent += len(chunk)
        elif mode == "trickle":
            for _ in range(120):
                conn.sendall(b"c")
                time.sleep(0.5)
        elif mode == "hang":
            conn.recv(1)   # returns when the client closes
    except OSError:
        pass
    finally:
        conn.close()


def main():
    mode, name = sys.argv[1], sys.argv[2]
    pid = os.getpid() if name == "self" else int(name)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(f"\0attls/{pid}")
    s.listen(16)
    print(f"ready {os.getpid()}", flush=True)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn, mode), daemon=True).start()


if __name__ == "__main__":
    main()
