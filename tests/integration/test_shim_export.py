"""The state export (@attls/<pid>) is served on the engine thread and must never
hold it: clients that connect and then never read an answer too large for
their socket buffer (each also sending a byte nobody asked for) must not stop
TLS traffic through the same process, nor keep `attls conns` from its answer;
they are dropped at the export's deadline. The export's descriptors follow
the program when it dup2s over them."""
import json
import select
import socket
import threading

import pytest

from shim_helpers import (PROGS, PY, attls_run, built, certs, free_port, listening,  # noqa: F401
                          procs, recv_until, rule, run, tls_connect, wait_for, work,
                          write_policy)

# Enough covered connections that one answer (about 320 bytes each) is larger
# than a unix socket's send buffer (212,992 bytes by default).
CONNS = 1000
SLOW_CLIENTS = 6            # below EXPORT_MAX_CLIENTS: `attls conns` still gets a turn
RULE = "export-rule-with-a-long-name"   # longer answers, fewer connections needed


def slow_client(pid):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(f"\0attls/{pid}")
    s.send(b"x")            # a request nobody asked for; the export reads none
    return s


def hung_up(s):
    """Whether the export closed this client, seen without reading its data."""
    p = select.poll()
    p.register(s, select.POLLIN)
    return any(ev & select.POLLHUP for _, ev in p.poll(0))


def echo(sock, payload):
    """Send and read back concurrently (neither side's buffers must hold it all)."""
    sock.settimeout(120)
    t = threading.Thread(target=sock.sendall, args=(payload,))
    t.start()
    got = recv_until(sock, len(payload), timeout=120)
    t.join(120)
    return got


def conns_of(pid):
    r = run([built(), "conns", "--json"], timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    return [x for x in json.loads(r.stdout)["connections"] if x["pid"] == pid]


@pytest.fixture
def busy_server(procs, work, certs):
    """A line echo server under attls holding CONNS covered connections."""
    port = free_port()
    pol = write_policy(work / "server.conf",
                       rule(RULE, "Inbound", certs.path("server.pem"), "Server", lport=port,
                            trace=2))
    server = procs.start(attls_run(pol, work / "server.log", PY, PROGS / "sweep_server.py",
                                   port), name="server")
    wait_for(lambda: listening(port) or server.poll() is not None, 15, "server to listen")
    assert server.poll() is None, procs.err(server)
    tls = []
    try:
        for _ in range(CONNS):
            tls.append(tls_connect(port, certs.path("ca.pem")))
        assert echo(tls[0], b"warm-up\n") == b"warm-up\n"
        yield server, tls
    finally:
        for t in tls:
            t.close()
    assert server.poll() is None, procs.err(server)


def test_slow_export_clients_do_not_stall_tls_traffic(busy_server):
    server, tls = busy_server
    slow = [slow_client(server.pid) for _ in range(SLOW_CLIENTS)]
    payload = (bytes(range(32, 127)) + b"\n") * 11000          # 1 MiB through the engine
    assert echo(tls[-1], payload) == payload
    # The transfer went through while every slow client was still held.
    assert not [s for s in slow if hung_up(s)], "the engine served the export first"

    # A client that reads gets the whole answer meanwhile.
    rows = conns_of(server.pid)
    assert len(rows) == CONNS and {x["rule"] for x in rows} == {RULE}
    assert not [s for s in slow if hung_up(s)]

    # The export's deadline (5 s) ends the slow ones.
    wait_for(lambda: all(hung_up(s) for s in slow), 30, "the slow clients to be dropped")
    for s in slow:
        s.close()
    assert echo(tls[1], b"still fine\n") == b"still fine\n"


def test_the_export_follows_its_descriptors_when_the_program_takes_their_numbers(busy_server):
    """dup2 onto every shim descriptor (the export's epoll, listening socket,
    timer and a client it is still serving among them) moves them away."""
    server, tls = busy_server
    held = [slow_client(server.pid) for _ in range(2)]
    wait_for(lambda: len(conns_of(server.pid)) == CONNS, 30, "the export to answer")
    assert not [s for s in held if hung_up(s)]
    tls[0].sendall(b"sweep\n")
    swept = b""
    while not swept.endswith(b"\n"):
        b = recv_until(tls[0], 1, timeout=60)
        assert b, swept
        swept += b
    n, failed = swept.split()[1], swept.split()[3]
    assert failed == b"0" and int(n) > 2 * CONNS, swept
    assert echo(tls[1], b"after\n") == b"after\n"
    assert len(conns_of(server.pid)) == CONNS
    wait_for(lambda: all(hung_up(s) for s in held), 30, "the held clients to be dropped")
    for s in held:
        s.close()
