"""The SIOCTTLSCTL error table (spec 1.7) and request combinations (spec 1.3),
one test per case, on real loopback connections: tests/integration/progs/
ttls_errors provokes each case under attls and prints what the ioctl
answered; the expected answers are here, next to the row of the table they
come from. pol/conn are TTLSi_Stat_Policy/TTLSi_Stat_Conn as the call left
them: checked where the table says the query data are valid."""
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from shim_helpers import *          # noqa: F401,F403 (fixture certs)
from ioctl_helpers import TEST_PROGS, server_der

PROG = TEST_PROGS / "ttls_errors"

POL_NO_POLICY, POL_NOT_ENABLED, POL_ENABLED, POL_APPLCNTRL = 2, 3, 4, 5
NOTSECURE, INPROGRESS, SECURE = 1, 2, 3

# name: (errno, reason code, {field: value} that must hold, spec row)
CASES = {
    # EACCES / JrConnDeniedPolicy: ApplicationControlled Off; data valid
    **{f"eacces_{req}": ("EACCES", "JrConnDeniedPolicy", {"pol": POL_ENABLED, "conn": SECURE},
                         "1.7 EACCES")
       for req in ("init", "reset_session", "reset_cipher", "stop", "reset_write_cipher",
                   "send_session_ticket")},
    # EALREADY / JrAlreadyActive; data valid
    "ealready_init_on_secure": ("EALREADY", "JrAlreadyActive",
                                {"pol": POL_APPLCNTRL, "conn": SECURE}, "1.7 EALREADY"),
    "ealready_stop_on_clear": ("EALREADY", "JrAlreadyActive",
                               {"pol": POL_APPLCNTRL, "conn": NOTSECURE}, "1.7 EALREADY"),
    # ECONNRESET / JrTTLSHandshakeFailed
    "econnreset_init": ("ECONNRESET", "JrTTLSHandshakeFailed", {}, "1.7 ECONNRESET"),
    "econnreset_query_waited": ("ECONNRESET", "JrTTLSHandshakeFailed", {}, "1.7 ECONNRESET"),
    # EINPROGRESS / JrOK; data valid; then writable, then the final state
    "einprogress_init_server": ("EINPROGRESS", "JrOK", {"pol": POL_APPLCNTRL, "conn": INPROGRESS,
                                "writable": "yes", "then": "secure"}, "1.7 EINPROGRESS"),
    "einprogress_init_client": ("EINPROGRESS", "JrOK", {"pol": POL_APPLCNTRL, "conn": INPROGRESS,
                                "writable": "yes", "then": "secure"}, "1.7 EINPROGRESS"),
    "einprogress_init_right_after_accept": (
        "EINPROGRESS", "JrOK", {"pol": POL_APPLCNTRL, "conn": INPROGRESS, "writable": "yes",
                                "then": "secure"}, "1.7 EINPROGRESS"),
    "einprogress_init_right_after_connect": (
        "EINPROGRESS", "JrOK", {"pol": POL_APPLCNTRL, "conn": INPROGRESS, "writable": "yes",
                                "then": "secure"}, "1.7 EINPROGRESS"),
    "einprogress_stop": ("EINPROGRESS", "JrOK", {"pol": POL_APPLCNTRL, "writable": "yes",
                                                  "then": "notsecure"}, "1.7 EINPROGRESS"),
    "einprogress_init_again": ("EINPROGRESS", "JrOK", {"then": "secure"}, "1.7 EINPROGRESS"),
    # EWOULDBLOCK (= EAGAIN on Linux): a query during a non-blocking handshake
    "ewouldblock_query": ("EAGAIN", "JrOK", {}, "1.7 EWOULDBLOCK"),
    # EINVAL / JrInvalidVersion
    "einval_version_0": ("EINVAL", "JrInvalidVersion", {}, "1.7 EINVAL JrInvalidVersion"),
    "einval_version_3": ("EINVAL", "JrInvalidVersion", {}, "1.7 EINVAL JrInvalidVersion"),
    # EINVAL / JrSocketCallParmError
    **{name: ("EINVAL", "JrSocketCallParmError", {}, "1.7 EINVAL JrSocketCallParmError")
       for name in ("einval_unknown_request_bit", "einval_cert_null_buffer",
                    "einval_cert_zero_length", "einval_v1_buffer_without_cert",
                    "einval_cert_with_version_2", "einval_v2_bad_ident",
                    "einval_wrong_length")},
    # ENOBUFS / JrBuffTooSmall; data valid; the size needed comes back
    "enobufs_v1_certificate": ("ENOBUFS", "JrBuffTooSmall",
                               {"pol": POL_APPLCNTRL, "conn": SECURE}, "1.7 ENOBUFS"),
    "enobufs_v2_query": ("ENOBUFS", "JrBuffTooSmall",
                         {"pol": POL_APPLCNTRL, "conn": SECURE, "rcode": "3",
                          "length": str(len("ctl-srv") + 1),
                          "bytes_needed": str(44 + 16 + len("ctl-srv") + 1)}, "1.7 ENOBUFS"),
    # ENOTCONN
    "enotconn_unconnected": ("ENOTCONN", "JrOK", {}, "1.7 ENOTCONN"),
    "enotconn_listening": ("ENOTCONN", "JrOK", {}, "1.7 ENOTCONN"),
    "enotconn_after_reset": ("ENOTCONN", "JrOK", {}, "1.7 ENOTCONN"),
    # EOPNOTSUPP: no rule, or TTLSEnabled Off
    **{name: ("EOPNOTSUPP", "JrOK", {}, "1.7 EOPNOTSUPP")
       for name in ("eopnotsupp_no_rule_init", "eopnotsupp_no_rule_stop",
                    "eopnotsupp_no_rule_reset_session", "eopnotsupp_no_rule_reset_cipher",
                    "eopnotsupp_not_enabled_init")},
    # EPERM: the forbidden combinations of spec 1.3
    **{name: ("EPERM", "JrOK", {}, "1.3 / 1.7 EPERM")
       for name in ("eperm_init_reset_session", "eperm_init_reset_cipher", "eperm_init_stop",
                    "eperm_stop_reset_session", "eperm_stop_reset_cipher",
                    "eperm_allow_hstimeout_alone")},
    # EPIPE: the peer closed the TCP connection (under TLS: test_ioctl_requests.py)
    "epipe_init": ("EPIPE", "JrOK", {}, "1.7 EPIPE"),
    # EPROTO: no INIT ever
    **{name: ("EPROTO", "JrOK", {}, "1.7 EPROTO (no INIT)")
       for name in ("eproto_stop_before_init", "eproto_reset_session_before_init",
                    "eproto_reset_cipher_before_init")},
    # EPROTO with a reason: data pending at STOP
    "eproto_stop_read_pending": ("EPROTO", "JrTTLSStopReadDataPending", {"read": "1"},
                                 "1.7 EPROTO JrTTLSStopReadDataPending"),
    "eproto_stop_write_pending": ("EPROTO", "JrTTLSStopWriteDataPending", {},
                                  "1.7 EPROTO JrTTLSStopWriteDataPending"),
    # EPROTO: ALLOW_HSTIMEOUT with a client role or HandshakeTimeout 0
    "eproto_hstimeout_client_role": ("EPROTO", "JrOK", {}, "1.7 EPROTO ALLOW_HSTIMEOUT"),
    "eproto_hstimeout_zero_timeout": ("EPROTO", "JrOK", {}, "1.7 EPROTO ALLOW_HSTIMEOUT"),
    # EPROTOTYPE: not TCP
    "eprototype_udp": ("EPROTOTYPE", "JrOK", {}, "1.7 EPROTOTYPE"),
    "eprototype_unix_stream": ("EPROTOTYPE", "JrOK", {}, "1.7 EPROTOTYPE"),
    # EFAULT / JrSocketCallParmError: memory the call cannot read or write (the
    # argument itself, the version 1 certificate buffer, the version 2 buffer),
    # as the kernel's own ioctls answer; the connection and the program go on
    **{name: ("EFAULT", "JrSocketCallParmError", {"then": "secure"}, "EFAULT (bad pointer)")
       for name in ("efault_arg_null", "efault_arg_unmapped", "efault_arg_readonly",
                    "efault_v1_cert_ptr_one", "efault_v1_cert_unmapped",
                    "efault_v1_cert_readonly", "efault_v2_ptr_one", "efault_v2_unmapped",
                    "efault_v2_header_readonly", "efault_v2_data_unmapped")},
    # Allowed (spec 1.3): queries by any program, RETURN_CERTIFICATE, a reset
    "ok_query_basic": ("-", "JrOK", {"pol": POL_ENABLED, "conn": SECURE}, "1.3 QUERY_ONLY"),
    "ok_query_no_rule": ("-", "JrOK", {"pol": POL_NO_POLICY, "conn": NOTSECURE}, "1.4"),
    "ok_query_not_enabled": ("-", "JrOK", {"pol": POL_NOT_ENABLED, "conn": NOTSECURE}, "1.4"),
    "ok_query_clear": ("-", "JrOK", {"pol": POL_APPLCNTRL, "conn": NOTSECURE}, "1.4"),
    "ok_query_v2_no_buffer": ("-", "JrOK", {"pol": POL_APPLCNTRL, "conn": SECURE}, "1.5"),
    "ok_query_v2_rule_name": ("-", "JrOK", {"pol": POL_ENABLED, "rule": "basic-srv"}, "1.6"),
    "ok_cert_basic": ("-", "JrOK", {"pol": POL_ENABLED, "conn": SECURE}, "1.3 RETURN_CERTIFICATE"),
    "ok_reset_session": ("-", "JrOK", {"pol": POL_APPLCNTRL, "conn": SECURE}, "1.3 RESET_SESSION"),
}

LINE = re.compile(r"^(\w+) rc=(-?\d+) errno=(\S+) jr=(\S+) pol=(\d+) conn=(\d+)(.*)$")


def parse(text):
    got = {}
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            name, rc, err, jr, pol, conn, extra = m.groups()
            fields = dict(kv.split("=", 1) for kv in extra.split())
            got[name] = dict(fields, rc=int(rc), errno=err, jr=jr, pol=int(pol), conn=int(conn))
    return got


def policy_text(certs, ports):
    ctrl, basic, _none, off, zero, short = ports
    app = {"ApplicationControlled": "On"}
    return [
        rule("ctl-srv", "Inbound", certs.path("server.pem"), "Server", lport=ctrl, adv=app),
        rule("ctl-cli", "Outbound", certs.path("ca.pem"), "Client", rport=ctrl, adv=app,
             host_ref="localhost"),
        rule("basic-srv", "Inbound", certs.path("server.pem"), "Server", lport=basic),
        rule("basic-cli", "Outbound", certs.path("ca.pem"), "Client", rport=basic,
             host_ref="localhost"),
        rule("off", "Inbound", certs.path("server.pem"), "Server", lport=off, enabled=False),
        rule("zero", "Inbound", certs.path("server.pem"), "Server", lport=zero,
             adv=dict(app, HandshakeTimeout=0)),
        rule("short", "Inbound", certs.path("server.pem"), "Server", lport=short,
             adv=dict(app, HandshakeTimeout=1)),
    ]


@pytest.fixture(scope="module")
def results(certs):
    """ttls_errors run once under attls for every case."""
    d = Path(tempfile.mkdtemp(prefix="attls-ioctl-errors-"))
    try:
        ports = [free_port() for _ in range(6)]
        policy = write_policy(d / "policy.conf", *policy_text(certs, ports))
        check_policy(policy)
        r = run(attls_run(policy, d / "attls.log", PROG, ",".join(map(str, ports)), trace=255),
                timeout=120)
        out = r.stdout.decode()
        assert r.returncode == 0, out + r.stderr.decode()
        yield parse(out), out + r.stderr.decode()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_every_case_ran(results):
    got, _ = results
    assert sorted(got) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(results, name):
    got, text = results
    err, jr, fields, row = CASES[name]
    assert name in got, text
    g = got[name]
    assert (g["errno"], g["jr"]) == (err, jr), f"{name} (spec {row}): {g}"
    assert (g["rc"] == 0) == (err == "-"), g
    for k, v in fields.items():
        assert str(g.get(k)) == str(v), f"{name} (spec {row}): {k}={g.get(k)}, want {v}: {g}"


def test_certificate_lengths(results, certs):
    """RETURN_CERTIFICATE gives the server's certificate (DER); ENOBUFS says
    how long it is."""
    got, _ = results
    der = server_der(certs)
    assert int(got["ok_cert_basic"]["cert_len"]) == len(der)
    assert int(got["enobufs_v1_certificate"]["cert_len"]) == len(der)


def test_enotty_without_the_shim(certs):
    """Without libattls.so the kernel answers: ENOTTY, and __errno2 is absent
    (ttls_reason() reports JrOK)."""
    ports = [free_port() for _ in range(6)]
    r = run([PROG, ",".join(map(str, ports)), "ok_query_clear", "einval_version_0",
             "eperm_init_stop"])
    got = parse(r.stdout.decode())
    assert {n: (g["errno"], g["jr"]) for n, g in got.items()} == {
        "ok_query_clear": ("ENOTTY", "JrOK"), "einval_version_0": ("ENOTTY", "JrOK"),
        "eperm_init_stop": ("ENOTTY", "JrOK")}


def test_eio_when_policy_mapping_fails(work):
    """EIO / JrUnexpectedErr (EMVSERR on z/OS): the ioctl has to map policy for
    a connection the shim never saw (inherited, already connected) and no
    valid policy can be loaded."""
    broken = work / "broken.conf"
    broken.write_text("TTLSRule broken {\n  LocalPortRange\n")
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    conn = socket.create_connection(lsock.getsockname())
    peer, _ = lsock.accept()
    try:
        fd = conn.fileno()
        # attls run would refuse the broken policy: the library on its own.
        r = subprocess.run([PROG, "inherited", str(fd)], env=preloaded(broken, work / "attls.log"),
                           capture_output=True, timeout=30, pass_fds=[fd])
    finally:
        for s in (conn, peer, lsock):
            s.close()
    got = parse(r.stdout.decode())
    assert got["eio_inherited_query"]["errno"] == "EIO", r.stdout + r.stderr
    assert got["eio_inherited_query"]["jr"] == "JrUnexpectedErr"
