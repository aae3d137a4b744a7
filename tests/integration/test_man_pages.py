"""The manual pages `make` builds into build/man: each renders without a single
groff warning (lintian's check, with every warning on), the check itself notices a broken
page, every option the programs' --help lists is in its page, attls.conf(5)
documents every statement and parameter the parser knows, its example policy
is valid, and `make install` puts the pages where man finds them (the two
whose names other packages' pages have as NAME.8attls, as Debian's OpenSSL
installs passwd.1ssl)."""
import os
import re
import subprocess

import pytest

from conftest import BUILD, REPO
from shim_helpers import need

MAN = BUILD / "man"
# Installed as NAME.8attls: other packages have pages of the same name
# (OpenIKED's iked(8), strongSwan's and Libreswan's ipsec(8)).
SUFFIX = {"iked.8": "attls", "ipsec.8": "attls"}
PAGES = ["attls.1", "attls-mkcerts.1", "attls.conf.5", "iked.8", "ipsec.8", "libattls.7"]


def man_warnings(page):
    """What man says while formatting page with every groff warning on
    (--warnings=w is groff's -ww; lintian's plain --warnings checks only for
    undefined macros)."""
    env = dict(os.environ, LC_ALL="C.UTF-8", MANROFFSEQ="", MANWIDTH="80")
    r = subprocess.run([need("man"), "--warnings=w", "-E", "UTF-8", "-l", "-Tutf8", "-Z", str(page)],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout, "man produced no output"
    return r.stderr


def rendered(page):
    """The page as plain ASCII text, one long line per paragraph."""
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="1000")
    r = subprocess.run([need("man"), "-E", "ascii", "-l", str(page)],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    # no pager: man writes plain text, but strip backspace overstrikes anyway
    return re.sub(r".\x08", "", r.stdout)


def test_make_builds_every_page():
    assert sorted(p.name for p in MAN.iterdir()) == sorted(PAGES)


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_without_a_warning(name):
    assert man_warnings(MAN / name) == ""


@pytest.mark.parametrize("breakage", [
    ("a misspelled macro", lambda t: t.replace("\n.Sh DESCRIPTION\n", "\n.Shh DESCRIPTION\n", 1)),
    ("a list left open", lambda t: t.replace("\n.El\n", "\n", 1)),
    ("an unknown escape", lambda t: t.replace("\n.Sh DESCRIPTION\n", "\n.Sh DESCRIPTION\n\\qx\n", 1)),
], ids=lambda b: b[0])
def test_the_check_notices_a_broken_page(tmp_path, breakage):
    """The warning check is worth something only if it fails on a broken page."""
    _, spoil = breakage
    good = (MAN / "attls.1").read_text()
    bad = spoil(good)
    assert bad != good
    page = tmp_path / "attls.1"
    page.write_text(bad)
    assert man_warnings(page) != ""


def help_options(*argv):
    r = subprocess.run([str(BUILD / "bin" / argv[0]), *argv[1:], "--help"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return set(re.findall(r"(?<![\w-])(--[a-z][\w-]*|-[a-zA-Z])\b", r.stdout)) - {"--help"}


def page_options(name):
    """Options the page shows: --long ones whole, -abc as -a, -b and -c."""
    found = set()
    for tok in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", rendered(MAN / name)):
        if tok.startswith("--"):
            found.add(tok)
        else:
            found.update("-" + c for c in tok[1:])
    return found


@pytest.mark.parametrize("page,argv", [
    ("attls.1", ["attls"]),
    ("attls.1", ["attls", "run"]),
    ("attls.1", ["attls", "conns"]),
    ("attls.1", ["attls", "policy", "check"]),
    ("attls.1", ["attls", "policy", "show"]),
    ("attls.1", ["attls", "policy", "reference"]),
    ("iked.8", ["iked"]),
    ("ipsec.8", ["ipsec"]),
], ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_every_option_of_the_help_is_in_the_page(page, argv):
    opts = help_options(*argv)
    assert opts, "no option found in the help"
    assert opts <= page_options(page), sorted(opts - page_options(page))


def test_attls_conf_documents_every_statement_and_parameter(attls):
    """The STATEMENTS section comes from the schema, as policy-reference.md
    does: every statement and parameter the Markdown lists is an item here."""
    md = attls("policy", "reference").stdout
    text = rendered(MAN / "attls.conf.5")
    statements = text.split("\nSTATEMENTS\n", 1)[1].split("\nFILES\n", 1)[0]
    headings = set(re.findall(r"^   (\S+)$", statements, re.M))
    items = set(re.findall(r"^     (\w\S*)", statements, re.M))
    stmts = re.findall(r"^### (\w+)$", md, re.M)
    params = set(re.findall(r"^\| (\w[\w.]*) \|", md, re.M)) - {"Parameter"}
    assert len(stmts) > 20 and len(params) > 150
    assert set(stmts) <= headings, sorted(set(stmts) - headings)
    assert params <= items, sorted(params - items)
    refused = re.findall(r"^- (\w+): ", md, re.M)
    assert refused and set(refused) <= items


def test_attls_conf_example_is_a_valid_policy(attls, examples_with_certs):
    text = rendered(MAN / "attls.conf.5")
    example = text.split("\nEXAMPLES\n", 1)[1].split("\nSEE ALSO\n", 1)[0]
    policy = "\n".join(line[6:] for line in example.splitlines() if line.startswith("      "))
    assert "TTLSRule" in policy
    path = examples_with_certs / "man-example.conf"
    path.write_text(policy + "\n")
    r = attls("policy", "check", path)
    assert r.returncode == 0 and r.stderr == "", r.stdout + r.stderr


def test_install_puts_the_pages_where_man_finds_them(tmp_path):
    dest = tmp_path / "dest"
    r = subprocess.run(["make", "-s", "install-man", f"DESTDIR={dest}", "PREFIX=/usr"],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    mandir = dest / "usr" / "share" / "man"
    installed = {str(p.relative_to(mandir)) for p in mandir.rglob("*") if p.is_file()}
    assert installed == {f"man{n.rsplit('.', 1)[1]}/{n}{SUFFIX.get(n, '')}" for n in PAGES}
    for name in PAGES:
        topic, section = name.rsplit(".", 1)
        path = mandir / f"man{section}" / (name + SUFFIX.get(name, ""))
        assert path.read_bytes() == (MAN / name).read_bytes()
        for how in ([section, topic], [topic]):
            r = subprocess.run([need("man"), "-M", str(mandir), "-w", *how],
                               capture_output=True, text=True, timeout=30)
            assert r.stdout.strip() == str(path), (how, r.stderr)
    r = subprocess.run([need("man"), "-M", str(mandir), "-w", "8attls", "ipsec"],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == str(mandir / "man8" / "ipsec.8attls"), r.stderr
