"""include/ezbztlsc.h as a program written for z/OS sees it: a program that
uses only the names of spec 0.1 (progs/ezbztlsc_names.c) compiles as C
(gnu11, c99 -pedantic) and as C++ (c++11) with every warning an error, and
runs: without libattls.so the ioctl fails with ENOTTY and __errno2 is
absent; under attls the same binary gets answers. (The sizes, offsets and
values are checked by tests/unit/test_ezbztlsc.c.)"""
import pytest

from shim_helpers import *          # noqa: F401,F403 (fixture work)

SRC = REPO / "tests" / "integration" / "progs" / "ezbztlsc_names.c"
INCLUDE = REPO / "include"

COMPILERS = {
    "gnu11": ["gcc", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-x", "c"],
    "c99-pedantic": ["gcc", "-std=c99", "-pedantic-errors", "-Wall", "-Wextra", "-Werror",
                     "-x", "c"],
    "clang-c11-pedantic": ["clang", "-std=c11", "-pedantic", "-Wall", "-Wextra", "-Werror",
                           "-x", "c"],
    "c++11": ["g++", "-std=c++11", "-Wall", "-Wextra", "-Werror", "-x", "c++"],
}


def build(work, mode):
    out = work / f"names-{mode}"
    cc, *flags = COMPILERS[mode]
    r = run([need(cc), *flags, "-I", INCLUDE, SRC, "-o", out])
    assert r.returncode == 0, r.stderr.decode()
    return out


@pytest.mark.parametrize("mode", sorted(COMPILERS))
def test_compiles_and_runs_without_the_shim(work, mode):
    exe = build(work, mode)
    r = run([exe])
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode().splitlines() == [
        "v1: errno=25 (Inappropriate ioctl for device) errno2=absent",
        "v2: errno=25 (Inappropriate ioctl for device) errno2=absent"]


@pytest.mark.parametrize("mode", ["c99-pedantic", "c++11"])
def test_same_binary_under_attls(work, mode):
    """No rule covers the connection: both queries answer 'no policy', 'not
    secure' (TTLS_POL_NO_POLICY 2, TTLS_CONN_NOTSECURE 1)."""
    exe = build(work, mode)
    policy = write_policy(work / "policy.conf", rule("elsewhere", "Inbound",
                                                     REPO / "nonexistent.pem", "Server",
                                                     lport=1))
    r = run(attls_run(policy, work / "attls.log", exe))
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode().splitlines() == ["v1: ok policy=2 conn=1 prot=0000",
                                              "v2: ok policy=2 conn=1 prot=0000"]
