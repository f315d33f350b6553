"""The command line (SPEC.md "Command line"): --version, --help, check,
unknown commands, and serve on a port that is taken."""

import re
import socket
import subprocess
import warnings

import pytest

from conftest import (POSTINO_BIN, REPO, Postino, render_config, sanitizer_problems)

BAD_DIR = REPO / "tests" / "config" / "bad"
BAD_CONFIGS = sorted(BAD_DIR.glob("*.conf")) if BAD_DIR.is_dir() else []


def run(args, cwd=None, timeout=30, **kw):
    r = subprocess.run([str(POSTINO_BIN)] + args, capture_output=True, cwd=cwd, timeout=timeout,
                       stdin=subprocess.DEVNULL, **kw)
    out, err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    san = sanitizer_problems(out + err)
    assert not san, f"sanitizer output from postino {args}:\n" + "\n".join(san)
    return r.returncode, out, err


def test_version():
    rc, out, err = run(["--version"])
    assert rc == 0, err
    assert re.match(r"^postino \d+\.\d+(\.\d+)?\S*\n$", out), out


def test_help():
    rc, out, err = run(["--help"])
    assert rc == 0, err
    for cmd in ("serve", "send", "queue", "check", "hash-password"):
        assert cmd in out, f"--help does not mention {cmd}:\n{out}"


@pytest.mark.parametrize("cmd", ["serve", "check", "send", "queue", "hash-password"])
def test_command_help(cmd):
    rc, out, err = run([cmd, "--help"])
    assert rc == 0, err
    assert cmd in out and "usage" in out.lower(), out


def test_unknown_command():
    rc, out, err = run(["frobnicate"])
    assert rc == 1
    assert "frobnicate" in err, err


def test_no_command():
    rc, out, err = run([])
    assert rc == 1
    assert "usage" in err.lower(), err


def test_check_good(tmp_path):
    p = Postino(tmp_path / "good")
    rc, out, err = run(["check", "-c", str(p.conf)])
    assert rc == 0, f"check of a good configuration failed:\n{err}\n{p.conf.read_text()}"
    # -c may also stand before the subcommand
    rc, out, err = run(["-c", str(p.conf), "check"])
    assert rc == 0, err


def test_check_postmaster_warning(tmp_path):
    """SPEC: check warns when postmaster is neither a user nor an alias (but
    the configuration is still usable)."""
    p = Postino(tmp_path / "nopm", users=["alice"])
    rc, out, err = run(["check", "-c", str(p.conf)])
    assert rc == 0, err
    assert "postmaster" in err.lower(), f"no warning about postmaster:\n{out}{err}"


def test_check_bad_inline(tmp_path):
    p = Postino(tmp_path / "bad")
    text = render_config(p.sections) + "\n[server]\nmax_recipients = lots\n\n[nonsense]\n"
    # a second [server] section is merged or refused; either way these two lines are errors
    p.conf.write_text(text)
    lines = text.split("\n")
    bad_value = lines.index("max_recipients = lots") + 1
    bad_section = lines.index("[nonsense]") + 1
    rc, out, err = run(["check", "-c", str(p.conf)])
    assert rc == 1, f"check accepted a bad configuration:\n{out}{err}"
    msgs = [l for l in err.splitlines() if l.strip()]
    for m in msgs:
        assert re.match(rf"^{re.escape(str(p.conf))}:\d+: \S", m), f"not FILE:LINE: message: {m!r}"
    assert any(m.startswith(f"{p.conf}:{bad_value}: ") for m in msgs), msgs
    assert any(m.startswith(f"{p.conf}:{bad_section}: ") for m in msgs), msgs


def test_check_missing_file(tmp_path):
    rc, out, err = run(["check", "-c", str(tmp_path / "nope.conf")])
    assert rc == 1
    assert "nope.conf" in err, err


def test_bad_configs_present():
    if not BAD_DIR.is_dir():
        pytest.skip("tests/config/bad does not exist")
    assert BAD_CONFIGS, "tests/config/bad holds no *.conf"
    missing = [c.name for c in BAD_CONFIGS if not c.with_suffix(".expected").exists()]
    assert not missing, f"bad configurations without .expected: {missing}"


@pytest.mark.parametrize("conf", BAD_CONFIGS, ids=[c.stem for c in BAD_CONFIGS])
def test_check_bad_config(conf):
    expected = conf.with_suffix(".expected")
    if not expected.exists():
        pytest.skip(f"{expected.name} missing")
    rel = str(conf.relative_to(REPO))
    rc, out, err = run(["check", "-c", rel], cwd=REPO)
    assert rc == 1, f"check {rel} exited {rc}, want 1\nstdout: {out}\nstderr: {err}"
    want = expected.read_text()
    assert err == want, f"check {rel} stderr:\n{err}\nwant:\n{want}"
    for line in err.splitlines():
        assert re.match(rf"^{re.escape(rel)}:\d+: \S", line), f"not FILE:LINE: message: {line!r}"


def test_serve_port_in_use(tmp_path):
    p = Postino(tmp_path / "busy")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", p.port))
        s.listen(1)
        rc, out, err = run(["serve", "-c", str(p.conf)], cwd=p.root, timeout=30)
    assert rc == 2, f"serve on a busy port exited {rc}, want 2:\n{err}"
    assert str(p.port) in err, f"the message does not name the port:\n{err}"
    assert re.search(r"in use|EADDRINUSE", err, re.I), f"no clear reason:\n{err}"


def test_serve_bad_config_exit_1(tmp_path):
    p = Postino(tmp_path / "badserve")
    p.conf.write_text(p.conf.read_text() + "\n[limits]\nmax_errors = many\n")
    rc, out, err = run(["serve", "-c", str(p.conf)], cwd=p.root, timeout=30)
    assert rc == 1, f"serve with a bad configuration exited {rc}, want 1:\n{err}"
    assert re.search(rf"{re.escape(str(p.conf))}:\d+: ", err), err


def test_hash_password():
    r = subprocess.run([str(POSTINO_BIN), "hash-password"], input=b"s3cret\n",
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    h = r.stdout.decode().strip()
    assert h.startswith("$") and len(h) > 20, h
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt   # deprecated, still in 3.11
    assert crypt.crypt("s3cret", h) == h
