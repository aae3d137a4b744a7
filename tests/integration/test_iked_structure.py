"""iked's modules stand in layers: the SA store (sa.c), the daemon object
(daemon.c) and the kernel backend registry (kernel.c) are used by the rest
and use none of it back. scripts/module-deps reads who calls whom from the
built objects and fails on a loop through one of them."""
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_no_loop_through_the_store_the_daemon_or_the_kernel_registry():
    objdir = os.path.join(ROOT, "build", "obj", "iked")
    assert os.path.isdir(objdir), "build iked first (make)"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "module-deps"),
                        "--dir", "iked", "--obj", os.path.join(ROOT, "build", "obj"),
                        "--src", os.path.join(ROOT, "iked"),
                        "--through", "sa,daemon,kernel"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    edges = {}
    for line in r.stdout.splitlines():
        if " -> " in line:
            mod, uses = line.split(" -> ")
            edges[mod.strip()] = set(uses.split())
    # the store uses no exchange, and nothing but the registry names a backend
    assert not edges["sa"] & {"ikev1", "phase1", "quick", "info", "lifecycle"}, edges["sa"]
    for mod, uses in edges.items():
        if mod != "kernel":
            assert not uses & {"kernel_xfrm", "kernel_log"}, (mod, uses)
