#!/usr/bin/env python3
"""ftp_ccc.py — an FTP server that secures itself with attls (RFC 4217):
AUTH TLS, PROT P, and CCC back to clear text.

    mkdir -p /tmp/ftp && echo 'hello over FTPS' >/tmp/ftp/hello.txt
    attls run -p policy/examples/ftp.conf -- python3 examples/python/ftp_ccc.py -d /tmp/ftp
    curl --ssl-reqd --ftp-ssl-ccc --cacert policy/examples/certs/ca.pem \\
        ftp://127.0.0.1:2121/hello.txt

AUTH TLS (or SSL) is answered 234, then attls.init_connection secures the
control connection. CCC is answered 200 over TLS, then
attls.stop_connection exchanges close_notify with the client and the
control connection goes on in clear text on the same TCP connection: the
commands after it cross the network readable, as firewalls that follow
FTP's data ports need. With PROT P each data connection is secured too,
with init_connection as a server: the data connections arrive on ports no
rule names, and SecondaryMap On in ftp.conf makes them inherit the control
connection's rule.

Commands: USER, PASS, AUTH, PBSZ, PROT C|P, CCC, SYST, FEAT, PWD, CWD /,
TYPE, NOOP, EPSV, PASV, LIST, NLST, SIZE, RETR, QUIT. Any user and password
are accepted; the files are the regular files of one directory.

Options: -a ADDR (default 127.0.0.1), -p PORT (default 2121), -d DIR
(default .). stdout: "listening on ADDR:PORT", then a line per command with
the control connection's state.
"""
import argparse
import itertools
import os
import socket
import threading

import attls

TIMEOUT = 60
MAX_LINE = 4096


class Session:
    def __init__(self, sock, n, root):
        self.sock, self.n, self.root = sock, n, root
        self.secure = False          # the control connection
        self.protect_data = False    # PROT P
        self.passive = None          # the listening socket of PASV/EPSV

    def log(self, text):
        print(f"conn {self.n}: {text}", flush=True)

    def reply(self, text):
        self.sock.sendall(text.encode() + b"\r\n")

    def read_line(self):
        """One command line; never a byte past its end (after AUTH TLS the
        client's TLS bytes follow it)."""
        line = b""
        while not line.endswith(b"\n"):
            ahead = self.sock.recv(MAX_LINE, socket.MSG_PEEK)
            if not ahead:
                return None
            end = ahead.find(b"\n")
            line += self.sock.recv(end + 1 if end >= 0 else len(ahead))
            if len(line) > MAX_LINE:
                raise ValueError("line too long")
        return line.decode("utf-8", "replace").rstrip("\r\n")

    # -- AT-TLS on the control connection --------------------------------------------
    def auth(self, arg):
        if arg.upper() not in ("TLS", "SSL", "TLS-C"):
            return self.reply("504 AUTH TLS only")
        if self.secure:
            return self.reply("503 TLS already active")
        self.reply("234 AUTH TLS OK, starting TLS")
        st = attls.init_connection(self.sock)
        self.secure = st.secure
        self.log(f"AUTH TLS: TLS started: {st.protocol.name}, cipher {st.cipher}")

    def ccc(self, _):
        if not self.secure:
            return self.reply("533 the control connection is not protected")
        self.reply("200 CCC OK, the control connection goes back to clear text")
        st = attls.stop_connection(self.sock)
        self.secure = st.secure
        self.log(f"CCC: TLS stopped: {'secure' if st.secure else 'not secure'}")

    # -- data connections ----------------------------------------------------------
    def open_passive(self):
        if self.passive:
            self.passive.close()
        self.passive = socket.create_server((self.sock.getsockname()[0], 0))
        self.passive.settimeout(TIMEOUT)
        return self.passive.getsockname()

    def epsv(self, _):
        port = self.open_passive()[1]
        self.reply(f"229 Entering Extended Passive Mode (|||{port}|)")

    def pasv(self, _):
        addr, port = self.open_passive()
        self.reply(f"227 Entering Passive Mode ({addr.replace('.', ',')},{port >> 8},"
                   f"{port & 0xFF})")

    def transfer(self, data):
        """Send data over the data connection of the last PASV/EPSV."""
        if not self.passive:
            return self.reply("425 Use PASV or EPSV first")
        self.reply("150 Opening data connection")
        conn, _ = self.passive.accept()
        self.passive.close()
        self.passive = None
        with conn:
            conn.settimeout(TIMEOUT)
            if self.protect_data:
                st = attls.init_connection(conn)
                self.log(f"data connection: rule {st.rule_name}, "
                         f"{'secure' if st.secure else 'not secure'}")
            conn.sendall(data)
        self.reply("226 Transfer complete")

    # -- files -----------------------------------------------------------------------
    def path(self, name):
        name = name.lstrip("/")
        if not name or "/" in name or name in (".", ".."):
            return None
        p = os.path.join(self.root, name)
        return p if os.path.isfile(p) else None

    def names(self):
        return sorted(f for f in os.listdir(self.root)
                      if os.path.isfile(os.path.join(self.root, f)))

    def retr(self, arg):
        p = self.path(arg)
        if not p:
            return self.reply("550 No such file")
        with open(p, "rb") as f:
            self.transfer(f.read())

    def size(self, arg):
        p = self.path(arg)
        self.reply(f"213 {os.path.getsize(p)}" if p else "550 No such file")

    def prot(self, arg):
        if arg.upper() not in ("C", "P"):
            return self.reply("504 PROT C or P")
        if arg.upper() == "P" and not self.secure:
            return self.reply("503 AUTH TLS first")
        self.protect_data = arg.upper() == "P"
        self.reply(f"200 PROT {arg.upper()} OK")

    def run(self):
        simple = {
            "USER": "331 Any password will do", "PASS": "230 Logged in",
            "PBSZ": "200 PBSZ=0", "SYST": "215 UNIX Type: L8", "PWD": '257 "/"',
            "TYPE": "200 Type set", "NOOP": "200 OK",
            "FEAT": "211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n CCC\r\n EPSV\r\n SIZE\r\n"
                    "211 End",
        }
        commands = {
            "AUTH": self.auth, "CCC": self.ccc, "PROT": self.prot, "EPSV": self.epsv,
            "PASV": self.pasv, "RETR": self.retr, "SIZE": self.size,
            "LIST": lambda _: self.transfer("".join(f"{f}\r\n" for f in self.names()).encode()),
            "NLST": lambda _: self.transfer("".join(f"{f}\r\n" for f in self.names()).encode()),
            "CWD": lambda arg: self.reply("250 OK" if arg in ("/", "")
                                          else "550 No such directory"),
        }
        self.reply("220 ftp_ccc.py ready")
        while True:
            line = self.read_line()
            if line is None:
                return
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            shown = f"{verb} {arg}".strip() if verb != "PASS" else "PASS ****"
            self.log(f"{shown} {'[secure]' if self.secure else '[not secure]'}")
            if verb == "QUIT":
                return self.reply("221 Goodbye")
            if verb in simple:
                self.reply(simple[verb])
            elif verb in commands:
                commands[verb](arg)
            else:
                self.reply("502 Command not implemented")


def connection(sock, n, root):
    session = Session(sock, n, root)
    with sock:
        sock.settimeout(TIMEOUT)
        try:
            session.run()
        except (OSError, ValueError) as e:     # attls.TTLSError is an OSError
            session.log(f"ended: {e}")
        finally:
            if session.passive:
                session.passive.close()
    session.log("closed")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-a", default="127.0.0.1", metavar="ADDR")
    ap.add_argument("-p", type=int, default=2121, metavar="PORT")
    ap.add_argument("-d", default=".", metavar="DIR")
    args = ap.parse_args()
    if not os.path.isdir(args.d):
        ap.error(f"{args.d}: not a directory")
    listener = socket.create_server((args.a, args.p))
    print(f"listening on {args.a}:{args.p}", flush=True)
    for n in itertools.count(1):
        sock, _ = listener.accept()
        threading.Thread(target=connection, args=(sock, n, args.d), daemon=True).start()


if __name__ == "__main__":
    main()
