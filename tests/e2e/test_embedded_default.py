"""The README quick start: `postino serve` with no configuration file. Its
ports are fixed by SPEC (2525, 2587); the test skips when they are taken."""

import os
import pwd
import signal
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from conftest import IO_TIMEOUT, POSTINO_BIN, sanitizer_problems, wait_for


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start(cwd):
    env = {k: v for k, v in os.environ.items() if k != "POSTINO_CONFIG"}
    log = open(cwd / "log", "ab")
    p = subprocess.Popen([str(POSTINO_BIN), "serve"], cwd=cwd, env=env,
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    log.close()

    def ready():
        assert p.poll() is None, (cwd / "log").read_text()
        try:
            socket.create_connection(("127.0.0.1", 2587), timeout=1).close()
            return True
        except OSError:
            return False
    wait_for(ready, timeout=15, what="embedded default listening")
    return p


def stop(p, cwd):
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=20) == 0
    assert not sanitizer_problems((cwd / "log").read_text())


@pytest.mark.skipif(os.path.exists("/etc/postino/postino.conf"),
                    reason="/etc/postino/postino.conf would be used instead")
def test_embedded_default_receives_and_submits(tmp_path):
    if not (port_free(2525) and port_free(2587)):
        pytest.skip("ports 2525/2587 are in use")
    # As in a clone under /root: the working directory is searchable by
    # others, its parents (pytest's 0700 directories) are not.
    tmp_path.chmod(0o755)
    p = start(tmp_path)
    try:
        with smtplib.SMTP("127.0.0.1", 2525, timeout=IO_TIMEOUT) as s:
            s.sendmail("someone@example.org", ["user@localhost"], b"Subject: hi\r\n\r\nhello\r\n")
        new = tmp_path / "var/mail/localhost/user/new"
        wait_for(lambda: new.is_dir() and len(os.listdir(new)) == 1, what="delivery")
        if os.geteuid() == 0:
            # started as root, it never delivers as root: it runs as nobody
            nobody = pwd.getpwnam("nobody").pw_uid
            uids = [line.split()[1:] for line in open(f"/proc/{p.pid}/status")
                    if line.startswith("Uid:")][0]
            assert set(uids) == {str(nobody)}, uids
            assert (new / os.listdir(new)[0]).stat().st_uid == nobody
            assert (tmp_path / "var/spool").stat().st_uid == nobody
        assert (tmp_path / "var/cert.pem").exists()
        assert (os.stat(tmp_path / "var/key.pem").st_mode & 0o777) == 0o600
        assert "self_signed" in (tmp_path / "log").read_text()
        # nobody can log in until ./var/users exists
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        with smtplib.SMTP("127.0.0.1", 2587, timeout=IO_TIMEOUT) as s:
            s.starttls(context=ctx)
            with pytest.raises(smtplib.SMTPAuthenticationError):
                s.login("user@localhost", "pw")
    finally:
        stop(p, tmp_path)
    h = subprocess.run([str(POSTINO_BIN), "hash-password"], input="dev-pass\n", text=True,
                       capture_output=True, check=True, timeout=30).stdout.strip()
    (tmp_path / "var/users").write_text(f"user@localhost:{h}\n")
    p = start(tmp_path)
    try:
        with smtplib.SMTP("127.0.0.1", 2587, timeout=IO_TIMEOUT) as s:
            s.starttls(context=ctx)
            s.login("user@localhost", "dev-pass")
            s.sendmail("user@localhost", ["user@localhost"], b"Subject: own\r\n\r\nx\r\n")
        wait_for(lambda: len(os.listdir(new)) == 2, what="second delivery")
        # with a users file, unknown local parts are refused
        with smtplib.SMTP("127.0.0.1", 2525, timeout=IO_TIMEOUT) as s:
            s.ehlo()
            s.mail("a@example.org")
            assert s.rcpt("nobody@localhost")[0] == 550
    finally:
        stop(p, tmp_path)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
@pytest.mark.skipif(os.path.exists("/etc/postino/postino.conf"),
                    reason="/etc/postino/postino.conf would be used instead")
def test_embedded_default_as_root_needs_a_reachable_directory(tmp_path):
    """Run as root from a directory nobody may search, the embedded default
    cannot work as nobody: it stops at once (exit 2) and says what to fix,
    rather than delivering as root."""
    if not (port_free(2525) and port_free(2587)):
        pytest.skip("ports 2525/2587 are in use")
    tmp_path.chmod(0o700)
    env = {k: v for k, v in os.environ.items() if k != "POSTINO_CONFIG"}
    r = subprocess.run([str(POSTINO_BIN), "serve"], cwd=tmp_path, env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r.stderr
    assert "daemon.user_failed user=nobody spool=./var/spool" in r.stderr, r.stderr
    assert "must be searchable by this user" in r.stderr, r.stderr
    assert not sanitizer_problems(r.stderr)
