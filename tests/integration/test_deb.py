"""`make deb`: build/attls_VERSION_ARCH.deb holds exactly what `make install`
installs (plus /etc/attls and Debian's copyright and changelog), marks the
/etc/attls files as conffiles, runs from a scratch root made with dpkg -x,
and installs, upgrades (keeping an edited conffile), is removed and purged
with dpkg -i/-r/-P in a throwaway root: an overlay of this machine's own
root on a tmpfs, in a mount namespace of its own, so the machine is left as
it was. lintian finds no error and no warning."""
import gzip
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, REPO
from shim_helpers import need

VERSION = (REPO / "VERSION").read_text().strip()


def run(argv, **kw):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          timeout=kw.pop("timeout", 300), **kw)


@pytest.fixture(scope="module")
def deb():
    r = run(["make", "-s", "deb"], cwd=REPO, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    arch = run([need("dpkg-architecture"), "-qDEB_HOST_ARCH"]).stdout.strip()
    path = BUILD / f"attls_{VERSION}_{arch}.deb"
    assert path.is_file(), r.stdout
    assert f"build-deb: {path}" in r.stdout.splitlines(), r.stdout
    return path


def deb_paths(deb):
    """Every file and symlink of the package (no directories), without './'."""
    r = run([need("dpkg-deb"), "-c", deb])
    assert r.returncode == 0, r.stderr
    paths = {}
    for line in r.stdout.splitlines():
        mode, _, _, _, _, name = line.split(None, 5)
        if mode[0] != "d":
            paths[name.split(" -> ")[0].removeprefix("./")] = mode
    return paths


def staged_paths(root):
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def test_the_package_holds_what_make_install_installs(deb, tmp_path):
    dest = tmp_path / "dest"
    r = run(["make", "-s", "install", f"DESTDIR={dest}", "PREFIX=/usr",
             "SYSTEMDUNITDIR=/lib/systemd/system"], cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr
    expected = set()
    for path in staged_paths(dest):
        f = dest / path
        # dh_compress: man pages, and documentation over 4 KiB outside examples/
        big_doc = (path.startswith("usr/share/doc/") and "/examples/" not in path
                   and not f.is_symlink() and f.stat().st_size > 4096)
        expected.add(path + ".gz" if path.startswith("usr/share/man/") or big_doc else path)
    expected |= {"etc/attls/attls.conf", "etc/attls/iked.conf",
                 "usr/share/doc/attls/copyright", "usr/share/doc/attls/changelog.gz",
                 # dh_python3's hook: byte-compile the Python package again
                 # when Debian's python3 changes version
                 "usr/share/python3/runtime.d/attls.rtupdate"}
    got = deb_paths(deb)
    assert set(got) == expected, (sorted(set(got) - expected), sorted(expected - set(got)))

    for must in ("usr/bin/attls", "usr/bin/iked", "usr/bin/ipsec", "usr/bin/attls-mkcerts",
                 "usr/lib/attls/libattls.so", "usr/include/ezbztlsc.h",
                 "lib/systemd/system/iked.service", "usr/share/man/man5/attls.conf.5.gz",
                 "usr/share/doc/attls/examples/systemd/attls-dropin.conf",
                 "usr/share/doc/attls/examples/policies", "usr/share/attls/examples/server.conf",
                 "usr/lib/python3/dist-packages/attls/__init__.py"):
        assert must in got, must
    assert got["usr/bin/iked"].startswith("-rwxr-xr-x")


def test_conffiles_and_control(deb):
    r = run([need("dpkg-deb"), "--info", deb, "conffiles"])
    assert r.stdout.split() == ["/etc/attls/attls.conf", "/etc/attls/iked.conf"]
    r = run([need("dpkg-deb"), "--field", deb, "Package", "Version", "Depends"])
    fields = dict(line.split(": ", 1) for line in r.stdout.splitlines())
    assert fields["Package"] == "attls" and fields["Version"] == VERSION
    for lib in ("libgnutls30", "libnettle8", "libnftables1", "libhiredis0.14"):
        assert lib in fields["Depends"], fields["Depends"]


def test_runs_from_a_scratch_root(deb, tmp_path):
    root = tmp_path / "root"
    r = run([need("dpkg-deb"), "-x", deb, root])
    assert r.returncode == 0, r.stderr
    usr = root / "usr"
    examples = usr / "share" / "attls" / "examples"
    assert run([usr / "bin" / "attls-mkcerts", examples / "certs"]).returncode == 0
    for conf in sorted(examples.glob("*.conf")):
        r = run([usr / "bin" / "attls", "policy", "check", conf])
        assert r.returncode == 0 and r.stderr == "", (conf.name, r.stdout + r.stderr)
    r = run([usr / "bin" / "attls", "policy", "check", root / "etc" / "attls" / "attls.conf"])
    assert r.returncode == 0, r.stderr
    assert "no statements: attls leaves every connection alone" in r.stderr
    for conf in (root / "etc" / "attls" / "iked.conf", examples / "ike-psk.conf"):
        r = run([usr / "bin" / "iked", "-n", "-f", conf])
        assert r.returncode == 0 and "configuration OK" in r.stdout, r.stdout + r.stderr
    # attls run finds the library the package put next to it
    r = run([usr / "bin" / "attls", "run", "-p", examples / "server.conf", "--", "env"])
    assert f"LD_PRELOAD={usr}/lib/attls/libattls.so\n" in r.stdout, r.stdout + r.stderr
    # the Python package imports where the package put it, and finds no shim
    # in a program that runs without attls
    r = run(["/usr/bin/python3", "-I", "-c",
             "import sys; sys.path.insert(0, sys.argv[1]); import attls; "
             "print(attls.__file__, attls.available())",
             usr / "lib" / "python3" / "dist-packages"])
    assert r.returncode == 0 and r.stdout.endswith(" False\n"), r.stdout + r.stderr
    assert r.stdout.startswith(str(usr / "lib" / "python3" / "dist-packages" / "attls")), r.stdout
    # the packaged (compressed) pages format without a warning
    env = dict(os.environ, LC_ALL="C.UTF-8", MANROFFSEQ="", MANWIDTH="80")
    pages = sorted((usr / "share" / "man").rglob("*.gz"))
    assert len(pages) == 6
    for page in pages:
        r = run([need("man"), "--warnings=w", "-E", "UTF-8", "-l", "-Tutf8", "-Z", page], env=env)
        assert r.returncode == 0 and r.stderr == "", (page.name, r.stderr)
    assert gzip.decompress((usr / "share" / "man" / "man8" / "iked.8attls.gz").read_bytes()) == \
        (BUILD / "man" / "iked.8").read_bytes()


def upgrade_of(deb, tmp_path):
    """The same package with a higher version, as the next release would be."""
    tree = tmp_path / "tree"
    assert run([need("dpkg-deb"), "-R", deb, tree]).returncode == 0
    control = tree / "DEBIAN" / "control"
    control.write_text(control.read_text().replace(f"Version: {VERSION}\n",
                                                   f"Version: {VERSION}+next1\n"))
    out = tmp_path / "attls_next.deb"
    r = run([need("dpkg-deb"), "--root-owner-group", "-b", tree, out])
    assert r.returncode == 0, r.stderr
    return out


# Runs in the throwaway root; each step prints a marker the test looks for.
LIFECYCLE = r"""
set -eu
dpkg -i /mnt/attls.deb >/dev/null
echo "installed $(dpkg-query -W -f='${Version} ${Status}' attls)"
iked -n && echo "iked -n with the default policy"
attls policy check /etc/attls/attls.conf 2>/dev/null && echo "default attls.conf checks"
mkdir /tmp/ex && cp /usr/share/attls/examples/*.conf /tmp/ex/ && attls-mkcerts /tmp/ex/certs >/dev/null
attls policy check /tmp/ex/server.conf
man -w 5 attls.conf
[ -e /etc/systemd/system/multi-user.target.wants/iked.service ] || echo "iked not enabled"
sed -i 's/^  ListenAddr                  127.0.0.1$/  ListenAddr 127.0.0.2  # mine/' /etc/attls/iked.conf
dpkg -i /mnt/attls_next.deb >/dev/null </dev/null
echo "upgraded $(dpkg-query -W -f='${Version}' attls)"
grep -q "# mine" /etc/attls/iked.conf && echo "edited conffile kept"
dpkg -r attls >/dev/null
[ ! -e /usr/bin/iked ] && [ -f /etc/attls/iked.conf ] && echo "removed, conffiles stay"
dpkg -P attls >/dev/null
[ ! -e /etc/attls/iked.conf ] && [ ! -e /etc/attls/attls.conf ] && echo "purged"
"""

OVERLAY = r"""
set -eu
top=$1; debs=$2
mount -t tmpfs attls-test $top
mkdir $top/upper $top/work $top/root
mount -t overlay overlay -o lowerdir=/,upperdir=$top/upper,workdir=$top/work $top/root
mount --bind /proc $top/root/proc
mount --bind /dev $top/root/dev
mount -t tmpfs attls-test-tmp $top/root/tmp
mount --bind "$debs" $top/root/mnt
exec chroot $top/root sh -c "$3"
"""


def test_dpkg_installs_upgrades_and_purges_in_a_throwaway_root(deb, tmp_path):
    def host_state():
        return (run(["dpkg-query", "-W", "-f=${Status}", "attls"]).stdout,
                sorted(os.listdir("/etc/attls")) if os.path.isdir("/etc/attls") else None,
                os.path.exists("/usr/bin/iked"))
    before = host_state()
    debs = tmp_path / "debs"
    debs.mkdir()
    (debs / "attls.deb").write_bytes(deb.read_bytes())
    upgrade_of(deb, tmp_path).rename(debs / "attls_next.deb")
    top = tmp_path / "overlay"
    top.mkdir()
    r = run([need("unshare"), "--mount", "--propagation", "private",
             "sh", "-c", OVERLAY, "sh", top, debs, LIFECYCLE])
    out = r.stdout
    assert r.returncode == 0, out + r.stderr
    assert f"installed {VERSION} install ok installed" in out
    assert "iked: /etc/attls/iked.conf: configuration OK" in out
    assert "iked -n with the default policy" in out and "default attls.conf checks" in out
    assert "/tmp/ex/server.conf: OK: 1 TTLSRule" in out
    assert re.search(r"^/usr/share/man/man5/attls\.conf\.5\.gz$", out, re.M), out
    assert "iked not enabled" in out
    assert f"upgraded {VERSION}+next1" in out and "edited conffile kept" in out, out + r.stderr
    assert "removed, conffiles stay" in out and "purged" in out
    # the machine itself: as it was
    assert host_state() == before


def test_lintian_finds_no_error_or_warning(deb):
    r = run([need("lintian"), "--no-tag-display-limit", deb], timeout=600)
    findings = [line for line in r.stdout.splitlines() if line[:2] in ("E:", "W:")]
    assert findings == [], r.stdout


def test_programs_and_library_have_full_relro(deb, tmp_path):
    """Bound at load and read-only after it (iked runs as root; lintian's
    hardening-no-bindnow)."""
    root = tmp_path / "root"
    assert run([need("dpkg-deb"), "-x", deb, root]).returncode == 0
    for elf in ("usr/bin/attls", "usr/bin/iked", "usr/bin/ipsec", "usr/lib/attls/libattls.so"):
        dyn = run([need("readelf"), "-d", root / elf]).stdout
        seg = run([need("readelf"), "-l", root / elf]).stdout
        assert re.search(r"\(FLAGS\)\s+BIND_NOW|\(BIND_NOW\)", dyn), (elf, dyn)
        assert "GNU_RELRO" in seg, elf
