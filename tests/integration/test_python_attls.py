"""The Python package attls (python/attls): its structures against the C
header, every call on live connections under attls with Python's ssl module
as the peer (tests/integration/shim_progs/attls_driver.py is the program,
driven line by line), in the three modes of a Python socket — blocking,
with a timeout, non-blocking — and through attls.aio in an asyncio server
(shim_progs/aio_lines.py); and without the shim (ENOTTY). The examples are
in test_python_examples.py; `make install` is at the end."""
import asyncio
import errno
import json
import os
import re
import socket
import ssl
import subprocess
import sys

import pytest

from shim_helpers import *          # noqa: F401,F403 (fixtures certs, work, procs)
from shim_helpers import PROGS, PY, REPO
from ioctl_helpers import (Driver, Peer, PeerSession, listen_local, sessions, tls_ctx_client,
                           wait_output)

PYTHON_DIR = REPO / "python"
HEADER = REPO / "include" / "ezbztlsc.h"
sys.path.insert(0, str(PYTHON_DIR))
import attls  # noqa: E402  (the package as the source tree has it)
import attls.aio  # noqa: E402
from attls import _abi  # noqa: E402


def py_env():
    """The environment of a Python program that imports attls from the tree."""
    return dict(os.environ, PYTHONPATH=str(PYTHON_DIR))


# ---- the structures, against include/ezbztlsc.h -----------------------------------------

def header_constants():
    """NAME -> value of every object-like #define of the header, as the C
    compiler sees it (the header is only read for the names)."""
    return re.findall(r"^#define[ \t]+(\w+)[ \t]+\S", HEADER.read_text(), re.M)


def c_program(work, body):
    src = work / "abi.c"
    src.write_text("#include <stddef.h>\n#include <stdio.h>\n#include <ezbztlsc.h>\n"
                   "static __attribute__((unused)) void show_int(const char *n, long long v)\n"
                   "{ printf(\"%s %lld\\n\", n, v); }\n"
                   "static __attribute__((unused)) void show_str(const char *n, const char *v)\n"
                   "{ printf(\"%s '%s'\\n\", n, v); }\n"
                   "#define SHOW(x) _Generic((x), char *: show_str, const char *: show_str, "
                   "default: show_int)(#x, x)\n"
                   "int main(void) {\n" + body + "return 0; }\n")
    exe = work / "abi"
    r = run([need("cc"), "-std=gnu11", "-Wall", "-Werror", "-I", REPO / "include", "-o", exe, src])
    assert r.returncode == 0, r.stderr.decode()
    r = run([exe])
    assert r.returncode == 0
    return r.stdout.decode()


def test_structures_are_the_headers(work):
    """Every field's offset and size in attls._abi is the C compiler's, and
    the structures are as long as C makes them."""
    structs = {"TTLS_IOCTL": _abi.TTLS_IOCTL, "TTLSHeader": _abi.TTLS_HEADER,
               "TTLSQuadruplet": _abi.TTLS_QUADRUPLET}
    body = ""
    for cname, layout in structs.items():
        body += f'printf("{cname} sizeof %zu\\n", sizeof(struct {cname}));\n'
        for field, _ in layout:
            body += (f'printf("{cname} {field} %zu %zu\\n", offsetof(struct {cname}, {field}), '
                     f'sizeof(((struct {cname} *)0)->{field}));\n')
    c = {}
    for line in c_program(work, body).splitlines():
        cname, field, *nums = line.split()
        c[(cname, field)] = tuple(int(n) for n in nums)
    for cname, layout in structs.items():
        s = _abi.layout_struct(layout)
        assert c[(cname, "sizeof")] == (s.size,), cname
        offset = 0
        for field, fmt in layout:
            size = _abi.layout_struct([(field, fmt)]).size
            assert c[(cname, field)] == (offset, size), (cname, field)
            offset += size


def test_constants_are_the_headers(work):
    """Every #define of the header is an attls constant with its value; every
    enum member that is not a header name is an alias of header values (the
    Rexx names)."""
    names = header_constants()
    assert len(names) > 60, names
    values = {}
    for line in c_program(work, "".join(f"SHOW({n});\n" for n in names)).splitlines():
        name, value = line.split(" ", 1)
        values[name] = value[1:-1].encode() if value.startswith("'") else int(value)
    for name, value in values.items():
        assert getattr(attls, name) == value, name
    for enum_cls in (attls.Request, attls.PolicyStatus, attls.ConnStatus, attls.SecurityType,
                     attls.Protocol, attls.FIPS140, attls.Key, attls.QueryRC, attls.Reason):
        header_values = {values[n] for n in enum_cls.__members__ if n in values}
        for name, member in enum_cls.__members__.items():
            if name in values:
                continue
            if enum_cls is attls.Request:    # a combination: every bit a header flag
                bits = [b for b in header_values if b and member & b == b]
                assert sum(bits) == member, name
            else:
                assert member in header_values, name
    assert attls.INITCONNHSTIMEOUT == attls.TTLS_INIT_CONNECTION | attls.TTLS_ALLOW_HSTIMEOUT
    assert attls.QueryRuleName == attls.TTLSK_TTLSRuleName
    assert attls.QueryHost == attls.TTLSK_Host_Status


# ---- without the shim ----------------------------------------------------------------

def test_without_the_shim_every_call_says_no_attls():
    """Not under attls, the ioctl is the kernel's: ENOTTY, said plainly."""
    assert not attls.available()
    lsock, port = listen_local()
    with lsock, socket.create_connection(("127.0.0.1", port)) as c:
        calls = [attls.init_connection, attls.stop_connection, attls.reset_session,
                 attls.reset_cipher, attls.send_session_ticket, attls.query,
                 lambda s: attls.host_status(s, "localhost"),
                 lambda s: attls.request(s, attls.INITCONNHSTIMEOUT)]
        for timeout in (None, 5, 0):
            c.settimeout(timeout)
            for call in calls:
                with pytest.raises(attls.TTLSError) as e:
                    call(c)
                assert e.value.errno == errno.ENOTTY
                assert e.value.reason is None
                assert "no AT-TLS here" in str(e.value)
        c.setblocking(False)
        with pytest.raises(attls.TTLSError) as e:
            asyncio.run(attls.aio.init_connection(c))
        assert e.value.errno == errno.ENOTTY and "no AT-TLS here" in str(e.value)


# ---- a program under attls, driven from here -----------------------------------------

class PyDriver(Driver):
    """shim_progs/attls_driver.py under attls; one JSON answer per command."""
    argv = [PY, PROGS / "attls_driver.py"]
    env = py_env()
    parse = staticmethod(json.loads)

    def ok(self, cmd, timeout=30):
        got = self.do(cmd, timeout)
        assert "ok" in got, f"{cmd}: {got}\n{Procs.err(self.p)}"
        return got["ok"]

    def error(self, cmd, timeout=30):
        got = self.do(cmd, timeout)
        assert "error" in got, f"{cmd}: {got}"
        return got["error"]


def policy(certs, direction, port, client_auth=None, adv=None, app_controlled=True):
    """One rule with all three actions, ApplicationControlled in the
    connection action as z/OS programs usually have it: a Server
    (ServerWithClientAuth with client_auth) for Inbound, a Client checking
    localhost for Outbound."""
    server = direction == "Inbound"
    text = rule("pyrule", direction, certs.path("server.pem" if server else "ca.pem"),
                ("ServerWithClientAuth" if client_auth else "Server") if server else "Client",
                lport=port if server else None, rport=None if server else port,
                client_auth=client_auth, adv=adv, trace=255,
                host_ref=None if server else "localhost")
    text = text.replace("  TTLSGroupActionRef", "  TTLSConnectionActionRef conn-pyrule\n"
                        "  TTLSGroupActionRef")
    return text + ("TTLSConnectionAction conn-pyrule\n{\n  TTLSConnectionAdvancedParms\n  {\n"
                   f"    ApplicationControlled {'On' if app_controlled else 'Off'}\n  }}\n}}\n")


class PySession(PeerSession):
    """attls_driver.py under one rule (policy()), connected to a Peer
    (Python's ssl); see PeerSession."""
    policy = staticmethod(policy)

    @staticmethod
    def start(procs, path, log, mode, port):
        return PyDriver(procs, path, log, mode, port)

    def expect_answer(self, what, port=None):
        assert self.d.answer() == {what: port if port is not None else True}

    def start_tls(self, cmd="init"):
        """The program's INIT and the peer's handshake at the same time."""
        self.d.send(cmd)
        self.peer.start_tls()
        got = self.d.answer()
        assert "ok" in got, got
        assert got["ok"]["conn_status"] == "TTLS_CONN_SECURE", got
        return got["ok"]

    def send_when_logged(self, cmd, line):
        """Send cmd and wait until attls logs line once more: the operation
        is under way in the shim, whatever the peer does next."""
        before = log_text(self.log).count(line)
        self.d.send(cmd)
        wait_for(lambda: log_text(self.log).count(line) > before, 20, f"{line!r} in the log")


@pytest.fixture
def session(procs, work, certs):
    yield from sessions(procs, work, certs, PySession)


def der(certs, name):
    pem = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n",
                    certs.path(name).read_text(), re.S).group(0)
    return ssl.PEM_cert_to_DER_cert(pem)


def cipher_code(tls_obj):
    """The peer's negotiated suite as four hex digits (IANA), from OpenSSL's id."""
    name = tls_obj.cipher()[0]
    ids = {c["name"]: c["id"] for c in ssl.create_default_context().get_ciphers()}
    return f"{ids[name] & 0xFFFF:04X}"


MODES = {"blocking": "none", "timeout": "20", "nonblocking": "0"}


# ---- STARTTLS and every query field ------------------------------------------------

@pytest.mark.parametrize("mode", ["blocking", "timeout"])
@pytest.mark.parametrize("role,tls12,client_auth", [
    ("server", False, None), ("server", True, "Required"), ("client", False, None),
    ("client", True, None)])
def test_starttls_and_every_query_field(session, certs, mode, role, tls12, client_auth):
    s = session(role, tls12=tls12, client_auth=client_auth, peer_cert=bool(client_auth))
    assert s.d.ok(f"timeout {MODES[mode]}") is True
    sec_type = ("TTLS_SEC_CLIENT" if role == "client" else
                "TTLS_SEC_SRV_CA_REQD" if client_auth else "TTLS_SEC_SERVER")
    names = {"rule_name": "pyrule", "group_action_name": "grp-pyrule",
             "environment_action_name": "env-pyrule", "connection_action_name": "conn-pyrule"}
    before = s.d.ok("query")
    assert before == dict(names, policy_status="TTLS_POL_APPLCNTRL",
                          conn_status="TTLS_CONN_NOTSECURE", protocol="TTLS_PROT_UNKNOWN",
                          cipher=None, user_id=None, peer_certificate=None,
                          security_type=sec_type, key_share=None, fips140="TTLS_FIPS140_OFF")
    # STARTTLS: clear text both ways, then TLS.
    s.peer.send_raw(b"STARTTLS\r\n")
    assert s.d.ok("recvline") == "STARTTLS\r\n"
    assert s.d.ok("send 220 go ahead\\r\\n") is True
    s.peer.expect_clear(b"220 go ahead\r\n")
    init = s.start_tls()
    after = s.d.ok("query")
    assert init == after
    peer_der = (der(certs, "server.crt") if role == "client" else
                der(certs, "client.crt") if client_auth else None)
    assert after == dict(names, policy_status="TTLS_POL_APPLCNTRL",
                         conn_status="TTLS_CONN_SECURE",
                         protocol="TTLS_PROT_TLSV1_2" if tls12 else "TTLS_PROT_TLSV1_3",
                         cipher=cipher_code(s.peer.tls), user_id=None,
                         peer_certificate=peer_der.hex() if peer_der else None,
                         security_type=sec_type,
                         key_share=after["key_share"] if not tls12 else None,
                         fips140="TTLS_FIPS140_OFF")
    if not tls12:
        assert re.fullmatch(r"[0-9A-F]{4}", after["key_share"]), after
    # The session goes on over TLS.
    s.peer.send(b"over TLS\r\n")
    assert s.d.ok("recvline") == "over TLS\r\n"
    assert s.d.ok("send and back\\r\\n") is True
    s.peer.expect(b"and back\r\n")


def test_a_connection_no_rule_covers(procs, work, certs):
    """query works for any TCP connection; controlling it does not."""
    path = write_policy(work / "none.conf", rule("elsewhere", "Inbound", certs.path("server.pem"),
                                                 "Server", lport=1))
    lsock, port = listen_local()
    d = PyDriver(procs, path, work / "attls.log", "connect", port)
    lsock.settimeout(15)
    peer, _ = lsock.accept()
    lsock.close()
    with peer:
        assert d.answer() == {"connected": True}
        st = d.ok("query")
        assert st["policy_status"] == "TTLS_POL_NO_POLICY"
        assert st["conn_status"] == "TTLS_CONN_NOTSECURE"
        assert st["rule_name"] is None and st["security_type"] == "TTLS_SEC_UNKNOWN"
        e = d.error("init")
        assert (e["type"], e["errno"], e["reason"]) == \
            ("TTLSError", errno.errorcode[errno.EOPNOTSUPP], "JrOK"), e
        d.send("quit")


# ---- host_status -------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["blocking", "timeout"])
def test_host_status_match_and_mismatch(session, mode):
    s = session("client")
    assert s.d.ok(f"timeout {MODES[mode]}") is True
    e = s.d.error("host localhost")      # no certificate before TLS
    assert (e["errno"], e["reason"]) == ("ENODATA", "TTLSQ_RC_NOT_AVAILABLE"), e
    s.start_tls()
    for name in ("localhost", SERVER_NAME, "LOCALHOST", "127.0.0.1"):
        assert s.d.ok(f"host {name}") is True, name
    for name in (WRONG_NAME, "other.example", "www.example.com", "127.0.0.2", "localhost.x"):
        assert s.d.ok(f"host {name}") is False, name


# ---- STOP, with the peer's clear text right behind its close_notify --------------------

@pytest.mark.parametrize("mode", ["blocking", "timeout", "nonblocking"])
@pytest.mark.parametrize("role", ["server", "client"])
@pytest.mark.parametrize("first", ["program", "peer"])
def test_stop_to_clear_text_with_data_behind_close_notify(session, mode, role, first):
    """The peer's close_notify and clear bytes arrive in one segment, before
    or after the program's STOP; the clear bytes are the program's to read
    after STOP, none lost, none early. Non-blocking: EINPROGRESS, the socket
    polls writable when STOP is over, query says not secure."""
    s = session(role)
    s.start_tls()
    s.peer.send(b"secure line\r\n")
    assert s.d.ok("recvline") == "secure line\r\n"
    assert s.d.ok(f"timeout {MODES[mode]}") is True
    behind = b"clear right behind\r\n"
    if first == "peer":
        # The peer's close_notify arrives first: STOP then completes at once,
        # in every mode.
        s.peer.send_raw(s.peer.close_notify_bytes() + behind)
        wait_for(lambda: "peer ended TLS (close_notify)" in log_text(s.log), 20,
                 "attls to see the peer's close_notify")
        st = s.d.ok("stop")
        s.peer.finish_stop()
    elif mode == "nonblocking":
        e = s.d.error("stop")
        assert (e["type"], e["errno"], e["reason"], e["blocking"]) == \
            ("TTLSInProgress", "EINPROGRESS", "JrOK", True), e
        assert s.d.ok("writable 0") is False
        s.peer.send_raw(s.peer.close_notify_bytes() + behind)
        s.peer.finish_stop()
        assert s.d.ok("writable 20") is True
        st = s.d.ok("query")
    else:
        s.send_when_logged("stop", ": program stops TLS: close_notify sent")
        s.peer.send_raw(s.peer.close_notify_bytes() + behind)
        s.peer.finish_stop()
        st = s.d.answer()["ok"]
    assert st["conn_status"] == "TTLS_CONN_NOTSECURE" and st["protocol"] == "TTLS_PROT_UNKNOWN"
    assert s.d.ok("timeout none") is True
    assert s.d.ok("recvline") == behind.decode()
    # Clear text both ways on the same TCP connection, then TLS again.
    assert s.d.ok("send clear reply\\r\\n") is True
    s.peer.expect_clear(b"clear reply\r\n")
    s.start_tls()
    s.peer.send(b"secure again\r\n")
    assert s.d.ok("recvline") == "secure again\r\n"


# ---- a socket with a timeout, a non-blocking socket -------------------------------------

def test_timeout_passes_then_the_handshake_is_waited_for_again(session):
    """A peer that says nothing: the timeout passes (TTLSTimeout, a
    TimeoutError); the handshake goes on in attls, and init_connection again
    waits for it and returns secure."""
    s = session("server")
    assert s.d.ok("timeout 1") is True
    e = s.d.error("init")
    assert (e["type"], e["errno"], e["timeout"]) == ("TTLSTimeout", "ETIMEDOUT", True), e
    assert "the operation goes on" in e["message"]
    e = s.d.error("query")       # still under way: the query waited and timed out too
    assert (e["type"], e["errno"]) == ("TTLSTimeout", "ETIMEDOUT"), e
    assert s.d.ok("timeout 20") is True
    st = s.start_tls()
    assert st["protocol"] == "TTLS_PROT_TLSV1_3"


def test_nonblocking_init_in_progress_then_writable(session):
    s = session("client")
    assert s.d.ok("timeout 0") is True
    e = s.d.error("init")
    assert (e["type"], e["errno"], e["reason"], e["blocking"]) == \
        ("TTLSInProgress", "EINPROGRESS", "JrOK", True), e
    assert s.d.ok("writable 0") is False        # held unwritable until the handshake ends
    e = s.d.error("query")
    assert (e["type"], e["errno"]) == ("TTLSInProgress", "EAGAIN"), e
    e = s.d.error("init")                        # asking again: still in progress
    assert e["errno"] == "EINPROGRESS", e
    s.peer.start_tls()
    assert s.d.ok("writable 20") is True
    assert s.d.ok("query")["conn_status"] == "TTLS_CONN_SECURE"


@pytest.mark.parametrize("mode", ["blocking", "timeout"])
def test_failed_handshake_is_econnreset(session, mode):
    """Garbage instead of a ClientHello: the handshake fails and attls resets
    the connection; with a timeout the call reports it as a blocking one
    does (ECONNRESET, JrTTLSHandshakeFailed)."""
    s = session("server")
    assert s.d.ok(f"timeout {MODES[mode]}") is True
    s.send_when_logged("init", ": program starts TLS")
    s.peer.send_raw(b"\x16\x03\x01\x00\x05garbage that is no ClientHello\r\n")
    e = s.d.answer()["error"]
    assert (e["type"], e["errno"], e["reason"]) == \
        ("TTLSError", "ECONNRESET", "JrTTLSHandshakeFailed"), e


# ---- errors as exceptions with reason names ------------------------------------------

def test_errors_carry_errno_and_reason(session):
    s = session("server")
    e = s.d.error("stop")                                 # before any INIT
    assert (e["type"], e["errno"], e["reason"]) == ("TTLSError", "EPROTO", "JrOK"), e
    e = s.d.error("request TTLS_INIT_CONNECTION|TTLS_STOP_CONNECTION")
    assert (e["errno"], e["reason"]) == ("EPERM", "JrOK"), e
    assert "request: Operation not permitted" in e["message"], e
    s.start_tls()
    e = s.d.error("init")                                 # already secure
    assert (e["errno"], e["reason"]) == ("EALREADY", "JrAlreadyActive"), e
    assert e["message"].startswith("[Errno ") and "init_connection: " in e["message"]
    assert "(JrAlreadyActive)" in e["message"]
    s.peer.send(b"unread\r\n")
    assert s.d.ok("avail 8") is True
    e = s.d.error("stop")                                 # unread data
    assert (e["errno"], e["reason"]) == ("EPROTO", "JrTTLSStopReadDataPending"), e
    assert s.d.ok("recvline") == "unread\r\n"
    s.d.send("stop")
    s.peer.stop_tls()
    assert s.d.answer()["ok"]["conn_status"] == "TTLS_CONN_NOTSECURE"


def test_allow_hs_timeout_in_a_client_role_is_eproto(session):
    s = session("client")
    e = s.d.error("init hst")
    assert (e["errno"], e["reason"]) == ("EPROTO", "JrOK"), e
    e = s.d.error("request INITCONNHSTIMEOUT")
    assert e["errno"] == "EPROTO", e


def test_controlling_a_rule_that_is_not_application_controlled(session):
    """The shim does the handshake itself; the program may ask, not steer:
    EACCES, JrConnDeniedPolicy, for each controlling request."""
    s = session("server", app_controlled=False)
    s.peer.start_tls()
    st = s.d.ok("query")
    assert (st["policy_status"], st["conn_status"]) == ("TTLS_POL_ENABLED", "TTLS_CONN_SECURE")
    for cmd in ("init", "stop", "reset_session", "reset_cipher", "send_ticket"):
        e = s.d.error(cmd)
        assert (e["errno"], e["reason"]) == ("EACCES", "JrConnDeniedPolicy"), (cmd, e)


def test_query_during_the_handshake_attls_makes_itself(session):
    """On an accepted connection the shim secures by itself, the socket polls
    writable during the handshake: a query with a timeout keeps asking (each
    time a little later) until the handshake is over."""
    s = session("server", app_controlled=False)
    assert s.d.ok("timeout 20") is True
    assert s.d.do("!query") == {"started": "query"}
    s.peer.start_tls()
    st = s.d.answer()["ok"]
    assert (st["policy_status"], st["conn_status"]) == ("TTLS_POL_ENABLED", "TTLS_CONN_SECURE")


def test_timeout_passes_while_the_socket_stays_writable(session):
    """The same handshake, a peer that never speaks and a 1 s timeout: the
    socket never stops polling writable, and still the timeout ends the
    wait (attls's own HandshakeTimeout is 10 s)."""
    s = session("server", app_controlled=False)
    assert s.d.ok("timeout 1") is True
    e = s.d.error("query")
    assert (e["type"], e["errno"], e["timeout"]) == ("TTLSTimeout", "ETIMEDOUT", True), e
    assert s.d.ok("timeout 20") is True
    s.peer.start_tls()
    assert s.d.ok("query")["conn_status"] == "TTLS_CONN_SECURE"


def test_tls12_client_renegotiation_with_a_timeout(session):
    """A TLS 1.2 client's RESET_CIPHER is a renegotiation: EINPROGRESS on a
    socket with a timeout, which stays writable; the call waits for it."""
    s = session("client", tls12=True)
    s.start_tls()
    before = s.peer.tls.get_channel_binding("tls-unique")
    assert s.d.ok("timeout 20") is True
    s.d.send("reset_cipher")
    s.d.send("send renegotiated\\r\\n")
    s.peer.expect(b"renegotiated\r\n")     # the peer renegotiates while reading
    st = s.d.answer()["ok"]
    assert (st["conn_status"], st["protocol"]) == ("TTLS_CONN_SECURE", "TTLS_PROT_TLSV1_2")
    assert s.d.answer() == {"ok": True}
    assert s.peer.tls.get_channel_binding("tls-unique") != before
    assert re.search(r"renegotiated: TLS1\.2", log_text(s.log)), log_text(s.log)


# ---- the other requests ---------------------------------------------------------------

@pytest.mark.parametrize("mode", ["blocking", "timeout"])
def test_resets_and_tickets_keep_the_session_going(session, mode):
    s = session("server")
    s.start_tls()
    assert s.d.ok(f"timeout {MODES[mode]}") is True
    for cmd in ("reset_cipher", "reset_cipher write", "reset_session", "send_ticket",
                "request RESETCIPHER"):
        assert s.d.ok(cmd)["conn_status"] == "TTLS_CONN_SECURE", cmd
        s.peer.send(f"after {cmd}\r\n".encode())
        assert s.d.ok("recvline") == f"after {cmd}\r\n"
        assert s.d.ok(f"send back {cmd}\\r\\n") is True
        s.peer.expect(f"back {cmd}\r\n".encode())


# ---- allow_hs_timeout: TLS and clear text clients on one port -------------------------

HST = {"HandshakeTimeout": 1}


@pytest.mark.parametrize("mode", ["blocking", "timeout"])
def test_allow_hs_timeout_clienthello_gets_tls(session, mode):
    s = session("server", adv=HST)
    assert s.d.ok(f"timeout {MODES[mode]}") is True
    st = s.start_tls("init hst")
    assert st["protocol"] == "TTLS_PROT_TLSV1_3"


@pytest.mark.parametrize("mode", ["blocking", "timeout"])
def test_allow_hs_timeout_clear_client_keeps_its_bytes(session, mode):
    s = session("server", adv=HST)
    assert s.d.ok(f"timeout {MODES[mode]}") is True
    s.peer.send_raw(b"EHLO plain\r\n")
    assert s.d.ok("avail 12") is True
    assert s.d.ok("init hst")["conn_status"] == "TTLS_CONN_NOTSECURE"
    assert s.d.ok("recvline") == "EHLO plain\r\n"


def test_allow_hs_timeout_silence_then_starttls(session):
    s = session("server", adv=HST)
    assert s.d.ok("timeout 20") is True
    assert s.d.ok("init hst")["conn_status"] == "TTLS_CONN_NOTSECURE"
    assert s.d.ok("send 220 greeting\\r\\n") is True
    s.peer.expect_clear(b"220 greeting\r\n")
    s.peer.send_raw(b"STARTTLS\r\n")
    assert s.d.ok("recvline") == "STARTTLS\r\n"
    s.start_tls()


# ---- asyncio: attls.aio on a stream's transport ------------------------------------------

def test_asyncio_streams_starttls_stop_and_a_free_loop(procs, work, certs):
    """shim_progs/aio_lines.py: while one client's INIT waits for its
    handshake, the event loop serves another; STARTTLS and STOP on the
    socket of a stream's transport; a wait_for that times out leaves the
    handshake going, and waiting again finishes it."""
    port = free_port()
    log = work / "attls.log"
    path = write_policy(work / "aio.conf", policy(certs, "Inbound", port))
    p = procs.start(attls_run(path, log, PY, PROGS / "aio_lines.py", port, trace=255),
                    name="aio_lines", env=py_env())
    wait_output(p, r"^listening ")

    def client():
        return Peer(socket.create_connection(("127.0.0.1", port), timeout=15),
                    tls_ctx_client(certs), server_side=False, hostname="localhost")
    a, b, c = client(), client(), client()
    try:
        a.send_raw(b"STARTTLS\r\n")
        a.expect_clear(b"220 go\r\n")
        wait_for(lambda: log_text(log).count(": program starts TLS") == 1, 20, "A's INIT")
        b.send_raw(b"hello\r\n")                     # A's handshake waits; B is served
        b.expect_clear(b"echo: hello\r\n")
        b.send_raw(b"STARTTLS\r\n")
        b.expect_clear(b"220 go\r\n")
        b.start_tls()
        b.send(b"QUERY\r\n")
        b.expect(b"TTLS_CONN_SECURE TTLS_PROT_TLSV1_3 pyrule\r\n")
        a.start_tls()
        a.send(b"QUERY\r\n")
        a.expect(b"TTLS_CONN_SECURE TTLS_PROT_TLSV1_3 pyrule\r\n")
        a.send(b"STOP\r\n")
        a.expect(b"200 stopping\r\n")
        a.stop_tls()
        a.send_raw(b"clear again\r\n")
        a.expect_clear(b"echo: clear again\r\n")
        a.send_raw(b"QUERY\r\n")
        a.expect_clear(b"TTLS_CONN_NOTSECURE TTLS_PROT_UNKNOWN pyrule\r\n")
        c.send_raw(b"STARTTLS_WITHIN 0.5\r\n")
        c.expect_clear(b"220 go\r\n")
        wait_output(p, r"^conn 3: no handshake within 0.5 s; waiting again$")
        c.start_tls()
        c.send(b"QUERY\r\n")
        c.expect(b"TTLS_CONN_SECURE TTLS_PROT_TLSV1_3 pyrule\r\n")
    finally:
        for x in (a, b, c):
            x.close()
    out = wait_output(p, r"^conn 3: closed$") and Procs.out(p)
    assert "Traceback" not in Procs.err(p), Procs.err(p)
    assert out.index("conn 2: TTLS_CONN_SECURE") < out.index("conn 1: TTLS_CONN_SECURE"), out


# ---- make install ----------------------------------------------------------------------

@pytest.mark.parametrize("prefix", ["/usr", "/usr/local"])
def test_make_install_puts_the_package_where_debians_python_finds_it(tmp_path, prefix):
    dest = tmp_path / "dest"
    r = subprocess.run(["make", "-s", "install", f"DESTDIR={dest}", f"PREFIX={prefix}"],
                       cwd=REPO, capture_output=True, timeout=900)
    assert r.returncode == 0, (r.stdout + r.stderr).decode()
    r = run([PY, "-I", "-c", "import site; print('\\n'.join(site.getsitepackages()))"],
            text=True)
    site_dirs = [d for d in r.stdout.split() if d.startswith(prefix + "/lib/")]
    assert site_dirs, r.stdout
    where = dest / site_dirs[0].lstrip("/") / "attls"
    assert sorted(p.name for p in where.iterdir()) == \
        sorted(p.name for p in (PYTHON_DIR / "attls").iterdir()
               if p.suffix == ".py" or p.name == "py.typed")
    r = run([PY, "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]); import attls; "
             "print(attls.__file__, attls.available())", where.parent], text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(where / "__init__.py"), "False"]
    examples = dest / prefix.lstrip("/") / "share" / "attls" / "examples" / "python"
    assert sorted(p.name for p in examples.glob("*.py")) == \
        sorted(p.name for p in (REPO / "examples" / "python").glob("*.py"))
