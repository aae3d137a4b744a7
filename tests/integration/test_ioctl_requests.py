"""What each SIOCTTLSCTL request does on a live connection (spec 1.3, 1.8):
non-blocking INIT and STOP, ALLOW_HSTIMEOUT's three outcomes, RESET_CIPHER
(TLS 1.3 KeyUpdate, TLS 1.2 secure renegotiation), RESET_WRITE_CIPHER,
SEND_SESSION_TICKET, RESET_SESSION, and EPIPE once the peer has ended TCP.
The program is ttls_driver under attls, the peer Python's ssl module; after
every request data must still flow both ways, byte-exact."""
import os
import re
import select
import socket

import pytest

from shim_helpers import *          # noqa: F401,F403 (fixtures certs, work, procs)
from ioctl_helpers import pattern, session  # noqa: F401 (fixture)

ROLES = ["server", "client"]


@pytest.mark.parametrize("role", ROLES)
def test_nonblocking_init_and_stop(session, role):
    """EINPROGRESS, then the socket polls writable, then QUERY_ONLY gives the
    outcome (spec 1.8). Writable means done: not before."""
    s = session(role)
    assert s.d.do("nonblock on") == "ok"
    assert s.d.do("init") == "err EINPROGRESS JrOK handshake in progress"
    assert s.d.do("pollout") == "ok not writable"
    s.peer.start_tls()
    assert s.d.do("writable") == "ok writable"
    assert s.d.do("query").startswith(f"ok secure, {role}, TLSv1.3")
    s.tls_both_ways(40_000)
    assert s.d.do("stop").startswith("err EINPROGRESS JrOK")
    assert s.d.do("pollout") == "ok not writable"
    s.peer.stop_tls()
    assert s.d.do("writable") == "ok writable"
    assert s.d.do("query") == "ok not secure"
    s.clear_both_ways("after")


HST = {"HandshakeTimeout": 1}


def test_allow_hstimeout_clienthello_starts_tls(session):
    s = session("server", adv=HST)
    s.peer.tls_begin()
    hello = s.peer.hello_bytes()
    s.peer.send_raw(hello)
    assert s.d.do(f"avail {len(hello)}").startswith("ok avail")
    s.d.send("init_hst")
    s.peer.handshake()
    assert s.d.answer().startswith("ok secure, server, TLSv1.3")
    s.tls_both_ways(20_000)


def test_allow_hstimeout_clear_bytes_stay_the_programs(session):
    s = session("server", adv=HST)
    s.peer.send_raw(b"EHLO plain\r\n")
    assert s.d.do("init_hst") == "ok not secure"
    assert s.d.do("expect EHLO plain\\r\\n") == "ok"
    s.clear_both_ways("clear")


def test_allow_hstimeout_silence_leaves_clear_text_then_starttls(session):
    """Nothing for HandshakeTimeout: clear text, the TCP connection kept. The
    same connection can still start TLS later with a plain INIT."""
    s = session("server", adv=HST)
    assert s.d.do("init_hst", timeout=30) == "ok not secure"
    s.clear_both_ways("greeting")
    s.peer.send_raw(b"STARTTLS\r\n")
    assert s.d.do("expect STARTTLS\\r\\n") == "ok"
    s.start_tls()
    s.tls_both_ways(20_000)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("request_", ["reset_cipher", "reset_write_cipher"])
def test_tls13_key_update(session, role, request_):
    s = session(role)
    s.start_tls()
    s.tls_both_ways(20_000)
    assert s.d.do(request_).startswith(f"ok secure, {role}, TLSv1.3")
    s.tls_both_ways(200_000)
    want = "key update sent" + (", peer asked too" if request_ == "reset_cipher" else "\n")
    assert want in log_text(s.log)
    s.stop_tls()
    s.clear_both_ways("after")


def test_tls12_client_renegotiation_meeting_peer_data_resets(session):
    """The peer sends data after our ClientHello left and before it read it.
    GnuTLS gives up a client renegotiation that meets application data and
    would send a second ClientHello, which breaks the peer's handshake; attls
    ends the connection instead, with a reason, and nothing reads as clear."""
    s = session("client", tls12=True)
    s.start_tls()
    s.d.send("reset_cipher")
    # Our ClientHello is on its way to the peer, unread: what the peer sends
    # now reaches us while we wait for its ServerHello.
    assert select.select([s.peer.sock], [], [], 15)[0], "no ClientHello"
    s.peer.send(b"x" * 40_000)
    answer = s.d.answer()
    assert answer.startswith("err ECONNRESET"), answer
    assert "peer sent application data before it answered our ClientHello" in log_text(s.log)
    # What arrived whole is the program's; the rest is gone with the connection
    # (after the handshake a failure reads as end of file: a documented limit).
    got = re.fullmatch(r"err after (\d+) bytes: .*", s.d.do("echo 100000"))
    assert got and int(got.group(1)) < 40_000, got


@pytest.mark.parametrize("role", ROLES)
def test_tls12_reset_cipher_renegotiates(session, role):
    """RFC 5746 secure renegotiation: the client end renegotiates; the server
    end sends a HelloRequest and the peer renegotiates when it reads."""
    s = session(role, tls12=True)
    s.start_tls()
    before = s.peer.tls.get_channel_binding("tls-unique")
    if role == "server":
        assert s.d.do("reset_cipher").startswith("ok secure, server, TLSv1.2")
        # Reading, the peer meets the HelloRequest and sends its ClientHello;
        # the echo may all come before the server's answer, so the peer then
        # finishes the handshake, and one more round trip passes the server's
        # end of it (it holds the program's data until then).
        s.tls_both_ways(50_000)
        s.peer.handshake()
        s.tls_both_ways(50_000)
    else:
        s.d.send("reset_cipher")
        s.d.send("send renegotiated\\r\\n")
        s.peer.expect(b"renegotiated\r\n")     # the peer renegotiates while reading
        assert s.d.answer().startswith("ok secure, client, TLSv1.2")
        assert s.d.answer() == "ok sent 14"
        s.tls_both_ways(50_000)
    # A new handshake: the first Finished message, hence tls-unique, changed.
    assert s.peer.tls.get_channel_binding("tls-unique") != before
    assert re.search(r"renegotiated: TLS1\.2", log_text(s.log)), log_text(s.log)
    s.stop_tls()
    s.clear_both_ways("after")


def test_tls12_has_no_write_cipher_reset_nor_ticket_request(session):
    s = session("server", tls12=True)
    s.start_tls()
    assert s.d.do("reset_write_cipher").startswith("err EPROTO")
    assert s.d.do("send_ticket").startswith("err EPROTO")
    s.tls_both_ways(10_000)


def test_send_session_ticket(session):
    """A TLS 1.3 server sends one more NewSessionTicket when asked; the peer
    can resume with it. A client end has no tickets to send."""
    s = session("server")
    s.start_tls()
    s.tls_both_ways(1000)
    first = s.peer.tls.session
    assert s.d.do("send_ticket").startswith("ok secure, server, TLSv1.3")
    s.tls_both_ways(1000)                      # the peer reads the ticket on the way
    assert s.peer.tls.session.id != first.id
    assert "session ticket sent" in log_text(s.log)
    s.stop_tls()
    s.start_tls(session=s.peer.session)
    assert s.peer.tls.session_reused
    c = session("client")
    c.start_tls()
    assert c.d.do("send_ticket").startswith("err EPROTO")
    c.tls_both_ways(1000)


def test_reset_session_makes_the_next_handshake_full(session):
    """The client end resumes its TLS session on the next INIT; after
    RESET_SESSION it does not."""
    s = session("client")
    s.start_tls()
    s.tls_both_ways(1000)
    s.stop_tls()
    s.start_tls()
    assert s.peer.tls.session_reused
    assert s.d.do("reset_session").startswith("ok secure, client")
    s.tls_both_ways(1000)
    s.stop_tls()
    s.start_tls()
    assert not s.peer.tls.session_reused
    s.tls_both_ways(1000)


def test_reset_session_on_a_server_end(session):
    """On a server end RESET_SESSION forgets the session: a client offering it
    gets a full handshake."""
    s = session("server")
    s.start_tls()
    s.tls_both_ways(1000)
    s.stop_tls()
    s.start_tls(session=s.peer.session)
    assert s.peer.tls.session_reused
    assert s.d.do("reset_session").startswith("ok secure, server")
    s.tls_both_ways(1000)
    s.stop_tls()
    s.start_tls(session=s.peer.session)
    assert not s.peer.tls.session_reused


@pytest.mark.parametrize("role", ROLES)
def test_epipe_after_the_peer_ends_tcp(session, role):
    """The peer ends TCP (FIN, no close_notify): the program reads end of
    file, and requests that need the connection answer EPIPE (spec 1.7)."""
    s = session(role)
    s.start_tls()
    s.tls_both_ways(1000)
    s.peer.sock.shutdown(socket.SHUT_WR)
    assert s.d.do("eof") == "ok eof"
    assert s.d.do("stop").startswith("err EPIPE")
    assert s.d.do("reset_cipher").startswith("err EPIPE")
    assert s.d.do("query").startswith("ok")


@pytest.mark.parametrize("role", ROLES)
def test_peer_ends_tls_and_tcp_program_reads_end_of_file(session, role):
    """The peer sends its last data, its close_notify and FIN, as any TLS peer
    closing a connection does (curl and lftp after an FTP upload on a PROT P
    data connection): the program reads the data, then end of file."""
    s = session(role)
    s.start_tls()
    s.peer.send(b"last words\r\n")
    s.peer.send_raw(s.peer.close_notify_bytes())
    s.peer.sock.shutdown(socket.SHUT_WR)
    assert s.d.do("expect last words\\r\\n") == "ok"
    assert s.d.do("eof") == "ok eof"


@pytest.mark.parametrize("role", ROLES)
def test_peer_answers_close_notify_with_clear_text(session, role):
    """The program stops TLS; the peer reads its close_notify and, without
    sending one back, goes on in clear text. curl's CCC does this by default
    (--ftp-ssl-ccc-mode passive), as proftpd's mod_tls does the other way:
    STOP completes and the clear bytes are the program's."""
    s = session(role)
    s.start_tls()
    s.tls_both_ways(1000)
    s.d.send("stop")
    wait_for(lambda: "program stops TLS: close_notify sent" in log_text(s.log), 15,
             "the program's close_notify")
    s.peer.expect_close_notify()
    s.peer.send_raw(b"PWD\r\n")
    assert s.d.answer() == "ok not secure"
    assert s.d.do("expect PWD\\r\\n") == "ok"
    s.clear_both_ways("after")


def test_stop_while_writes_are_unsent(session):
    """The peer reads nothing; the program writes until its socket stays full,
    then asks to stop: EPROTO / JrTTLSStopWriteDataPending (spec 1.7), TLS
    stays up, and once the peer reads, every byte arrives under TLS and the
    connection can stop."""
    s = session("server")
    s.start_tls()
    assert s.d.do("nonblock on") == "ok"
    sent = int(s.d.do("fill", timeout=60).split()[-1])
    assert s.d.do("stop").startswith(
        "err EPROTO JrTTLSStopWriteDataPending secure, server, TLSv1.3")
    s.peer.expect(pattern(sent))
    assert s.d.do("nonblock off") == "ok"
    s.stop_tls()
    s.clear_both_ways("after")
