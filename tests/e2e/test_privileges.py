"""Started as root with [server] user = nobody: postino binds its port, reads
its files, then runs as nobody; the spool and the Maildirs belong to nobody."""

import os
import pwd
import shutil
import signal
import smtplib
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import IO_TIMEOUT, POSTINO_BIN, free_port, sanitizer_problems, wait_for


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges")
def test_drops_to_configured_user():
    nobody = pwd.getpwnam("nobody")
    root = Path(tempfile.mkdtemp(prefix="postino-privs-"))
    proc = None
    try:
        os.chmod(root, 0o755)
        (root / "mail").mkdir()
        os.chown(root / "mail", nobody.pw_uid, nobody.pw_gid)
        (root / "users").write_text("alice@example.test:$6$x$y\npostmaster@example.test:$6$x$y\n")
        os.chmod(root / "users", 0o600)          # only root may read it: read before the drop
        (root / "aliases").write_text("")
        # left by an earlier run as root: handed over to nobody at start
        (root / "spool" / "msg").mkdir(parents=True)
        port = free_port()
        (root / "postino.conf").write_text(f"""
[server]
hostname = mx.example.test
spool = {root}/spool
user = nobody
[listener "mx"]
address = 127.0.0.1:{port}
tls = none
auth = none
[domains]
local = example.test
[mailboxes]
users = {root}/users
aliases = {root}/aliases
maildir = {root}/mail/%d/%n
[relay]
networks =
""")
        log = open(root / "log", "wb")
        proc = subprocess.Popen([str(POSTINO_BIN), "serve", "-c", str(root / "postino.conf")],
                                stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()

        def up():
            assert proc.poll() is None, (root / "log").read_text()
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=1):
                    return True
            except OSError:
                return False
        wait_for(up, timeout=15, what="daemon up")
        uids = [line.split()[1:] for line in open(f"/proc/{proc.pid}/status")
                if line.startswith("Uid:")][0]
        assert set(uids) == {str(nobody.pw_uid)}, uids
        with smtplib.SMTP("127.0.0.1", port, timeout=IO_TIMEOUT) as s:
            s.sendmail("a@remote.example", ["alice@example.test"], b"Subject: x\r\n\r\ny\r\n")
        new = root / "mail/example.test/alice/new"
        wait_for(lambda: new.is_dir() and len(os.listdir(new)) == 1, what="delivery")
        f = new / os.listdir(new)[0]
        assert f.stat().st_uid == nobody.pw_uid
        assert (root / "spool").stat().st_uid == nobody.pw_uid
        assert (root / "spool" / "msg").stat().st_uid == nobody.pw_uid
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert not sanitizer_problems((root / "log").read_text())
        assert "daemon.user user=nobody" in (root / "log").read_text()
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


def test_user_root_refused(tmp_path):
    """postino never delivers mail as root: `user = root` is a configuration
    error, for `check` and for `serve` alike, whoever runs them."""
    port = free_port()
    conf = tmp_path / "postino.conf"
    conf.write_text(f"""[server]
hostname = mx.example.test
spool = {tmp_path}/spool
user = root
[listener "mx"]
address = 127.0.0.1:{port}
tls = none
[domains]
local = example.test
[mailboxes]
users = {tmp_path}/users
aliases = {tmp_path}/aliases
maildir = {tmp_path}/mail/%d/%n
""")
    (tmp_path / "users").write_text("postmaster@example.test:$6$x$y\n")
    (tmp_path / "aliases").write_text("")
    want = (f"{conf}:4: [server] user: 'root' has uid 0, and postino does not deliver "
            "mail as root; name an unprivileged account (e.g. postino)\n")
    for cmd in ("check", "serve"):
        r = subprocess.run([str(POSTINO_BIN), cmd, "-c", str(conf)], capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL)
        assert r.returncode == 1, (cmd, r.stderr)
        assert want in r.stderr, (cmd, r.stderr)
        assert not sanitizer_problems(r.stderr)
    assert not (tmp_path / "spool").exists()
