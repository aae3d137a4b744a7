"""Shared fixtures of the integration tests: where the repository and the
built programs are, and helpers to run them on policy files."""
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("BUILD", REPO / "build"))


@pytest.fixture(scope="session")
def repo():
    """The top of the source tree."""
    return REPO


@pytest.fixture(scope="session")
def attls_bin():
    """build/bin/attls; `make check` builds it before the integration tests."""
    path = BUILD / "bin" / "attls"
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built; run `make` first")
    return path


@pytest.fixture(scope="session")
def attls(attls_bin):
    """Run attls with arguments; returns the CompletedProcess (text, not checked)."""
    def run(*args, cwd=None, env=None):
        return subprocess.run([str(attls_bin), *map(str, args)], capture_output=True,
                              text=True, cwd=cwd, env=env, timeout=60)
    return run


@pytest.fixture
def policy_file(tmp_path):
    """Write policy text to a file in a fresh directory; returns its path."""
    def write(text, name="test.conf"):
        path = tmp_path / name
        path.write_text(text)
        return path
    return write


@pytest.fixture(scope="session")
def examples(repo):
    """The example policies, sorted by name."""
    return sorted((repo / "policy" / "examples").glob("*.conf"))


@pytest.fixture(scope="session")
def examples_with_certs(tmp_path_factory, repo, examples):
    """A copy of the examples with the certificates scripts/mkcerts makes, so
    their key rings exist. Returns the copies' directory."""
    d = tmp_path_factory.mktemp("examples")
    for f in examples:
        (d / f.name).write_text(f.read_text())
    subprocess.run([str(repo / "scripts" / "mkcerts"), str(d / "certs")], check=True,
                   capture_output=True, timeout=120)
    return d
