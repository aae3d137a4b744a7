#!/usr/bin/python3
"""lftp loses the end of an FTPS upload under TLS 1.3 - without attls.

A minimal FTPS server (Python's ssl, i.e. OpenSSL; no attls anywhere) takes
`lftp put` of a file over a PROT P data connection and reports how many bytes
arrived and how the stream ended. A TLS 1.3 server sends session tickets
right after the handshake (OpenSSL and GnuTLS two by default). When they
reach lftp 4.9.2 (GnuTLS 3.7) on the data connection of an upload, lftp in
some runs takes the upload for finished after 114688 bytes: its debug log
says "copy: get hit eof ... Closing data socket", it closes the data
connection with a bare TCP FIN (no close_notify), and exits 0. The server
sees a truncated stream and, like any FTP server, takes the close for the
end of the file. Without tickets, or under TLS 1.2 (no post-handshake
messages), every upload arrives whole.

Ten runs of each case (the loss depends on timing; it shows in some runs):
  tls13           TLS 1.3, two tickets (OpenSSL's default)
  tls13-oneticket TLS 1.3, one ticket
  tls13-noticket  TLS 1.3, no ticket (num_tickets = 0)
  tls12           lftp limited to TLS 1.2

Usage: lftp_tls13_upload.py [--size BYTES] [--runs N]
Exit status 0 when the runs show the defect as described (an upload was cut
short with tickets; none without tickets or under TLS 1.2), 1 otherwise.
"""
import argparse
import hashlib
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
from pathlib import Path


def make_cert(d):
    key, crt = d / "key.pem", d / "crt.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", crt], check=True, capture_output=True)
    return key, crt


class FTPS:
    """One client at a time: USER, PASS, AUTH TLS, PBSZ, PROT, TYPE, PWD,
    EPSV/PASV, STOR, QUIT; everything else is answered 502. received holds
    the byte count and digest of each stored file."""

    def __init__(self, key, crt, tickets):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(crt, key)
        self.ctx.num_tickets = tickets
        self.lsock = socket.create_server(("127.0.0.1", 0))
        self.port = self.lsock.getsockname()[1]
        self.received = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            conn, _ = self.lsock.accept()
            try:
                self.session(conn)
            except OSError:
                pass
            finally:
                conn.close()

    def session(self, conn):
        ctl = conn.makefile("rwb", buffering=0)
        data_l = None

        def reply(line):
            ctl.write(line.encode() + b"\r\n")

        reply("220 repro")
        while True:
            line = ctl.readline()
            if not line:
                return
            cmd, _, arg = line.decode().strip().partition(" ")
            cmd = cmd.upper()
            if cmd == "AUTH":
                reply("234 go ahead")
                conn = self.ctx.wrap_socket(conn, server_side=True)
                ctl = conn.makefile("rwb", buffering=0)
            elif cmd == "USER":
                reply("331 password")
            elif cmd == "PASS":
                reply("230 logged in")
            elif cmd in ("PBSZ", "PROT", "TYPE"):
                reply("200 ok")
            elif cmd == "PWD":
                reply('257 "/"')
            elif cmd in ("EPSV", "PASV"):
                data_l = socket.create_server(("127.0.0.1", 0))
                p = data_l.getsockname()[1]
                reply(f"229 (|||{p}|)" if cmd == "EPSV" else
                      f"227 (127,0,0,1,{p >> 8},{p & 255})")
            elif cmd == "STOR" and data_l:
                reply("150 send it")
                raw, _ = data_l.accept()
                data_l.close()
                data_l = None
                self.receive(self.ctx.wrap_socket(raw, server_side=True, suppress_ragged_eofs=False))
                reply("226 done")
            elif cmd == "QUIT":
                reply("221 bye")
                return
            else:
                reply("502 not here")

    def receive(self, d):
        h, n, end = hashlib.sha256(), 0, "eof"
        try:
            while True:
                b = d.recv(65536)
                if not b:
                    break
                h.update(b)
                n += len(b)
        except (ConnectionResetError, ssl.SSLError) as e:
            end = type(e).__name__
        d.close()
        self.received.append((n, h.hexdigest(), end))


def lftp_put(port, src, tls12):
    script = "; ".join(
        ["set ftp:ssl-force true", "set ftp:ssl-protect-data true",
         "set ssl:verify-certificate false", "set net:max-retries 1", "set net:timeout 20"]
        + (["set ssl:priority NORMAL:-VERS-TLS1.3"] if tls12 else [])
        + [f"open -u u,p ftp://127.0.0.1:{port}", f"put {src} -o up.bin", "bye"])
    return subprocess.run(["lftp", "-c", script], capture_output=True, text=True, timeout=60)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=3 * 1024 * 1024 + 77)
    ap.add_argument("--runs", type=int, default=10)
    a = ap.parse_args()
    d = Path(tempfile.mkdtemp(prefix="lftp-repro-"))
    key, crt = make_cert(d)
    src = d / "src.bin"
    src.write_bytes(os.urandom(a.size))
    want = hashlib.sha256(src.read_bytes()).hexdigest()
    lost = {}
    for case, tickets, tls12 in (("tls13", 2, False), ("tls13-oneticket", 1, False),
                                 ("tls13-noticket", 0, False), ("tls12", 2, True)):
        srv = FTPS(key, crt, tickets)
        lost[case] = 0
        for _ in range(a.runs):
            r = lftp_put(srv.port, src, tls12)
            n, digest, end = srv.received[-1] if srv.received else (0, "", "none")
            ok = digest == want
            lost[case] += not ok
            print(f"{case:15} lftp exit {r.returncode}  server got {n} of {a.size} bytes "
                  f"({'intact' if ok else 'LOST ' + str(a.size - n)}; stream ended: {end})")
    shows = (lost["tls13"] + lost["tls13-oneticket"] > 0 and not lost["tls13-noticket"]
             and not lost["tls12"])
    print("reproduced: lftp cuts TLS 1.3 uploads short when the server sends session "
          "tickets, and reports success" if shows else "not reproduced in these runs")
    return 0 if shows else 1


sys.exit(main())
