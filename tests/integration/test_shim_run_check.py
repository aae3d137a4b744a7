"""`attls run` checks the policy before it starts the program: a policy that
cannot be used (missing, with errors, a directory, a FIFO; named by -p or by
ATTLS_POLICY) stops it with the first error's file, line and column on
stderr, and the program never runs. A usable policy starts the program and
adds nothing to its stderr. (The library on its own still fails closed:
test_shim_policy.py.)"""
import os

import pytest

from shim_helpers import built, certs, rule, run, work, write_policy  # noqa: F401

BAD = {
    "missing": (None, ":1:1: error: cannot open the policy: No such file or directory"),
    "syntax-error": ("# broken\nTTLSRule r\n{\n  Direction Sideways\n}\n",
                     ":4:13: error: "),
    "directory": ("DIR", ":1:1: error: the policy is not a regular file (a directory)"),
    "fifo": ("FIFO", ":1:1: error: the policy is not a regular file (a FIFO)"),
}


def bad_policy(work, kind):
    path = work / "bad.conf"
    text = BAD[kind][0]
    if text == "DIR":
        path.mkdir()
    elif text == "FIFO":
        os.mkfifo(path)
    elif text is not None:
        path.write_text(text)
    return path


def marker_program(work):
    marker = work / "ran"
    return marker, ["sh", "-c", f"touch {marker}"]


@pytest.mark.parametrize("kind", list(BAD))
def test_refuses_to_start_with_a_policy_it_cannot_use(work, kind):
    pol = bad_policy(work, kind)
    marker, prog = marker_program(work)
    r = run([built(), "run", "-p", pol, "--", *prog], timeout=30)
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert not marker.exists()
    assert f"{pol}{BAD[kind][1]}" in err, err
    assert err.splitlines()[-1] == (f"attls run: not starting sh: the policy {pol} cannot be "
                                    "used"), err
    assert r.stdout == b""


def test_checks_the_policy_named_by_the_environment(work):
    pol = bad_policy(work, "syntax-error")
    marker, prog = marker_program(work)
    env = dict(os.environ, ATTLS_POLICY=str(pol))
    r = run([built(), "run", "--", *prog], timeout=30, env=env)
    assert r.returncode == 1
    assert not marker.exists()
    assert f"{pol}{BAD['syntax-error'][1]}" in r.stderr.decode()


def test_starts_the_program_with_a_usable_policy(work, certs):
    ring = work / "server.pem"                  # private, so nothing warns about it
    ring.write_bytes(certs.path("server.pem").read_bytes())
    ring.chmod(0o600)
    pol = write_policy(work / "good.conf", rule("web", "Inbound", ring, "Server", lport=4443))
    marker, prog = marker_program(work)
    r = run([built(), "run", "-p", pol, "--", *prog], timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    assert marker.exists()
    assert r.stderr == b"" and r.stdout == b""


def test_refuses_a_key_ring_the_shim_would_refuse(work):
    """What `attls policy check` calls an error stops attls run too: here a
    key ring that is neither PEM nor PKCS#12, named at its Keyring line."""
    ring = work / "garbage.pem"
    ring.write_text("not a key ring\n")
    pol = write_policy(work / "ring.conf",
                       rule("web", "Inbound", ring, "Server", lport=4443))
    marker, prog = marker_program(work)
    r = run([built(), "run", "-p", pol, "--", *prog], timeout=30)
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert not marker.exists()
    line = next(ln for ln in err.splitlines() if "error:" in ln)
    assert line.startswith(f"{pol}:") and f"keyring {ring}:" in line, err
    check = run([built(), "policy", "check", pol], timeout=30)
    assert check.returncode == 1 and line in check.stderr.decode()
