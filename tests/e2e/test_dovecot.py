"""A real Dovecot serves the Maildirs postino delivered into.

postino receives a message over SMTP (smtplib) and delivers it into
<root>/mail/example.test/alice/. A private Dovecot (Debian's dovecot-imapd and
dovecot-pop3d, `dovecot -F -c <conf>` with a config, base_dir, state_dir and
log file of its own, IMAP and POP3 on free loopback ports, no TLS) then
serves that Maildir: imaplib and poplib log in, list and fetch the message,
and its bytes are exactly what postino stored (the message as sent, after
postino's Return-Path, Delivered-To and Received lines), with CRLF line ends
as IMAP and POP3 require.

Why the Maildirs belong to `nobody` here, not to root as in the other tests:
Dovecot never gives a mailbox to uid 0, whatever first_valid_uid says
(`first_valid_uid = 0` was tried: the login works, then every mailbox access
fails with "Invalid settings in userdb: userdb returned 0 as uid"). So the
test sets up what a real server runs: postino, started as root, binds its port,
reads its files and drops to `[server] user` (nobody here, postino on a
server), so the Maildirs it creates are owned by that user. Dovecot's static
userdb gives every user that uid and gid, and first_valid_uid = last_valid_uid
= that uid allows only it. Everything lives in a directory from mkdtemp
(mode 0755), not under pytest's tmp_path: pytest makes /tmp/pytest-of-root
0700, and neither nobody nor the `dovecot` user could reach files below it.

One users file serves both: it is in postino's format (`user@domain:HASH`,
the hash from `postino hash-password`, yescrypt on Debian 12), and Dovecot's
passwd-file passdb with scheme=CRYPT reads those lines as `user:password`
and checks the password with crypt(3). Dovecot's auth process runs as the
`dovecot` user, so the file is root:<postino's group> 0640 and the auth
service gets that group with extra_groups, as docs/dovecot.md recommends.

The `,S=<size>` postino puts in file names is checked for real: Dovecot takes
the size from the name instead of calling stat(), and a wrong one breaks the
message ("Cached message size smaller than expected", FETCH fails). A control
mailbox (bob) holds postino's file renamed with S=size-1 and must fail that
way, while alice's sessions must leave no error in Dovecot's log.
"""

import grp
import imaplib
import os
import poplib
import pwd
import re
import shutil
import signal
import smtplib
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (IO_TIMEOUT, LOCAL_DOMAIN, POSTINO_BIN, Postino, free_port,
                      sanitizer_problems, wait_for)

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVECOT_LIBEXEC = Path("/usr/lib/dovecot")
MAIL_USER = "nobody"          # postino's [server] user and Dovecot's mail uid here
PASSWORD = "Corr3ct horse"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 30.0

pytestmark = [
    pytest.mark.skipif(not (os.access(DOVECOT, os.X_OK)
                            and (DOVECOT_LIBEXEC / "imap").exists()
                            and (DOVECOT_LIBEXEC / "pop3").exists()),
                       reason="Dovecot is not installed: apt-get install dovecot-imapd "
                              "dovecot-pop3d (./dev test installs them)"),
    pytest.mark.skipif(os.geteuid() != 0,
                       reason="needs root: postino drops to the mail user after binding, "
                              "and Dovecot's master setuid()s to it"),
]

# what Dovecot logs when the size in a Maildir file name is not the file's
SIZE_ERRORS = ("Cached message size", "Broken physical size", "Broken virtual size")


def hash_password(password):
    r = subprocess.run([str(POSTINO_BIN), "hash-password"], input=password + "\n",
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    h = r.stdout.strip()
    assert h.startswith("$") and ":" not in h, h
    return h


class MailPostino(Postino):
    """The standard test daemon with a users file holding real password
    hashes, readable by root (before the drop), the mail user's group (for
    SIGHUP after the drop) and, through that group, Dovecot's auth."""

    def __init__(self, root, users_text, **kw):
        self.users_text = users_text
        super().__init__(root, **kw)

    def write_files(self):
        super().write_files()
        users = self.root / "users"
        users.write_text(self.users_text)
        os.chown(users, 0, pwd.getpwnam(MAIL_USER).pw_gid)
        os.chmod(users, 0o640)


def dovecot_conf(d, mailroot, users, imap_port, pop3_port):
    pw = pwd.getpwnam(MAIL_USER)
    group = grp.getgrgid(pw.pw_gid).gr_name
    return f"""# written by tests/e2e/test_dovecot.py: a private instance
protocols = imap pop3
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
auth_verbose = yes

# loopback only, no certificates in this test: cleartext logins allowed
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login

# postino's [mailboxes] maildir = {mailroot}/%d/%n (lower-cased by postino;
# auth_username_format = %Lu, the default, lower-cases the login too)
mail_location = maildir:{mailroot}/%Ld/%Ln
first_valid_uid = {pw.pw_uid}
last_valid_uid = {pw.pw_uid}
first_valid_gid = {pw.pw_gid}
last_valid_gid = {pw.pw_gid}

# postino's users file as it is: lines user@domain:CRYPT-HASH
passdb {{
  driver = passwd-file
  args = scheme=CRYPT username_format=%Lu {users}
}}
userdb {{
  driver = static
  args = uid={pw.pw_uid} gid={pw.pw_gid}
}}
service auth {{
  extra_groups = {group}
}}

service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""


class Dovecot:
    """A private `dovecot -F` on two free loopback ports."""

    def __init__(self, d, mailroot, users):
        self.dir = Path(d)
        self.dir.mkdir(mode=0o755)
        self.conf = self.dir / "dovecot.conf"
        self.log = self.dir / "dovecot.log"
        self.mailroot, self.users = mailroot, users
        self.proc = None

    def read_log(self):
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _greets(self, port, prefix):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                return s.recv(200).startswith(prefix)
        except OSError:
            return False

    def start(self):
        for _ in range(3):   # a free port may be taken before Dovecot binds it
            self.imap_port, self.pop3_port = free_port(), free_port()
            if self.imap_port == self.pop3_port:
                continue
            self.conf.write_text(dovecot_conf(self.dir, self.mailroot, self.users,
                                              self.imap_port, self.pop3_port))
            out = open(self.dir / "dovecot.stderr", "ab")
            self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(self.conf)],
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=out)
            out.close()
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline and self.proc.poll() is None:
                if (self._greets(self.imap_port, b"* OK")
                        and self._greets(self.pop3_port, b"+OK")):
                    return
                time.sleep(0.1)
            text = self.read_log() + (self.dir / "dovecot.stderr").read_text(errors="replace")
            self.stop()
            if "Address already in use" not in text:
                raise AssertionError(f"Dovecot did not start within {START_TIMEOUT}s:\n{text}")
        raise AssertionError("Dovecot: no free pair of ports after 3 tries")

    def stop(self):
        """SIGTERM to the master, which ends its children; bounded."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(f"Dovecot did not stop within {STOP_TIMEOUT}s of SIGTERM")

    def lines_of(self, user):
        return [ln for ln in self.read_log().splitlines() if f"({user})" in ln]


def crlf(data):
    return data.replace(b"\n", b"\r\n")


@pytest.fixture
def setup():
    """postino (as root, dropping to MAIL_USER) and a private Dovecot over
    the same Maildir root and users file, in one 0755 directory."""
    mail_pw = pwd.getpwnam(MAIL_USER)
    top = Path(tempfile.mkdtemp(prefix="postino-dovecot-"))
    os.chmod(top, 0o755)
    p = dv = None
    try:
        root = top / "postino"
        root.mkdir(mode=0o755)
        (root / "mail").mkdir(mode=0o755)
        os.chown(root / "mail", mail_pw.pw_uid, mail_pw.pw_gid)
        users_text = (
            f"# postino's users file, read by Dovecot's passwd-file too\n"
            f"alice@{LOCAL_DOMAIN}:{hash_password(PASSWORD)}\n"
            f"bob@{LOCAL_DOMAIN}:{hash_password(PASSWORD)}\n"
            f"postmaster@{LOCAL_DOMAIN}:$6$x$y\n")
        p = MailPostino(root, users_text, config={"server": {"user": MAIL_USER}})
        p.start()
        dv = Dovecot(top / "dovecot", p.mailroot, root / "users")
        dv.start()
        yield p, dv
        dv.stop()
        assert p.stop() == 0, p.read_log()[-3000:]
        assert not sanitizer_problems(p.read_log()), p.read_log()[-3000:]
        assert f"daemon.user user={MAIL_USER}" in p.read_log()
        fatal = [ln for ln in dv.read_log().splitlines() if "Fatal:" in ln or "Panic:" in ln]
        assert not fatal, dv.read_log()
    finally:
        for stop in (dv.stop if dv else None, p.stop if p else None):
            try:
                if stop:
                    stop()
            except AssertionError:
                pass
        shutil.rmtree(top, ignore_errors=True)


MESSAGE = (b"From: Sender <sender@remote.example>\r\n"
           b"To: Alice <alice@example.test>\r\n"
           b"Subject: read me through Dovecot\r\n"
           b"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
           b"Message-ID: <dovecot-test@remote.example>\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n"
           b"\r\n"
           b"Hello Alice,\r\n"
           b".a line that starts with a dot\r\n"
           b"..and one with two\r\n"
           b"8-bit: caf\xc3\xa9, \xe2\x82\xac\r\n"
           b"\r\n"
           b"-- \r\n"
           b"Sender\r\n")


def test_dovecot_serves_postino_maildir(setup):
    p, dv = setup
    try:
        check_dovecot_reads(p, dv)
    except Exception as e:   # the directory is removed: show both logs now
        raise AssertionError(f"{e}\n--- Dovecot's log:\n{dv.read_log()[-5000:]}"
                             f"\n--- postino's log:\n{p.read_log()[-5000:]}") from e


def check_dovecot_reads(p, dv):
    mail_pw = pwd.getpwnam(MAIL_USER)

    with smtplib.SMTP("127.0.0.1", p.port, timeout=IO_TIMEOUT) as s:
        refused = s.sendmail("sender@remote.example", ["alice@example.test", "bob@example.test"],
                             MESSAGE, mail_options=["BODY=8BITMIME"])
    assert refused == {}

    # --- what postino stored --------------------------------------------
    [d] = p.wait_delivered("alice")
    [bob_file] = p.wait_delivered("bob")
    stored = d.raw
    assert d.body == MESSAGE.replace(b"\r\n", b"\n"), "the Maildir file is not the message as sent"
    m = re.fullmatch(r"\d+\.M\d+P\d+Q\d+\.[^/:]+,S=(\d+)", d.path.name)
    assert m, f"unexpected Maildir file name {d.path.name}"
    assert int(m.group(1)) == len(stored) == d.path.stat().st_size
    maildir = p.maildir("alice")
    st = d.path.stat()
    assert (st.st_uid, st.st_gid) == (mail_pw.pw_uid, mail_pw.pw_gid)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    for sub in ("", "tmp", "new", "cur"):
        sst = (maildir / sub).stat()
        assert (sst.st_uid, stat.S_IMODE(sst.st_mode)) == (mail_pw.pw_uid, 0o700), (sub, oct(sst.st_mode))
    assert not list((maildir / "tmp").iterdir())

    # the control: the same file, with a size one octet short in its name
    wrong = bob_file.path.with_name(
        re.sub(r",S=\d+$", f",S={len(bob_file.raw) - 1}", bob_file.path.name))
    bob_file.path.rename(wrong)

    expected = crlf(stored)            # IMAP and POP3 speak CRLF
    base = d.path.name

    # --- IMAP -----------------------------------------------------------
    imap = imaplib.IMAP4("127.0.0.1", dv.imap_port, timeout=IO_TIMEOUT)
    try:
        typ, _ = imap.login("Alice@Example.TEST", PASSWORD)   # Dovecot lower-cases it
        assert typ == "OK"
        typ, data = imap.select("INBOX")
        assert (typ, data) == ("OK", [b"1"]), data
        typ, data = imap.uid("SEARCH", None, "ALL")
        assert typ == "OK" and len(data[0].split()) == 1, data
        typ, data = imap.fetch("1", "(RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert typ == "OK", data
        size = int(re.search(rb"RFC822\.SIZE (\d+)", data[0][0]).group(1))
        assert size == len(expected), (size, len(expected))
        assert data[0][1] == b"Subject: read me through Dovecot\r\n\r\n", data
        typ, data = imap.fetch("1", "(BODY[])")
        assert typ == "OK", data
        assert data[0][1] == expected
        typ, data = imap.fetch("1", "(FLAGS)")
        assert typ == "OK" and b"\\Seen" in data[0], data
    finally:
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError):
            pass

    # Dovecot took the file from new/ into cur/ under the same base name,
    # with its :2,<flags> info added, and did not rewrite it
    assert not any((maildir / "new").iterdir())
    cur = [f for f in (maildir / "cur").iterdir() if f.name.startswith(base + ":2,")]
    assert len(cur) == 1, list((maildir / "cur").iterdir())
    assert cur[0].read_bytes() == stored

    # --- POP3 -----------------------------------------------------------
    pop = poplib.POP3("127.0.0.1", dv.pop3_port, timeout=IO_TIMEOUT)
    try:
        pop.user("alice@example.test")
        pop.pass_(PASSWORD)
        assert pop.stat() == (1, len(expected))
        resp, listing, _ = pop.list()
        assert resp.startswith(b"+OK") and listing == [b"1 %d" % len(expected)], listing
        resp, lines, octets = pop.retr(1)
        assert resp.startswith(b"+OK"), resp
        assert b"\r\n".join(lines) + b"\r\n" == expected
    finally:
        pop.quit()

    # --- Dovecot's log: alice clean, the control broken -----------------
    problems = [ln for ln in dv.lines_of("alice@example.test")
                if re.search(r"\b(Error|Warning|Fatal|Panic):", ln)]
    assert not problems, "\n".join(problems)
    assert re.search(r"imap\(alice@example\.test\).*Logged out|imap\(alice@example\.test\).*Disconnected",
                     dv.read_log()), dv.read_log()

    bimap = imaplib.IMAP4("127.0.0.1", dv.imap_port, timeout=IO_TIMEOUT)
    try:
        bimap.login("bob@example.test", PASSWORD)
        assert bimap.select("INBOX")[0] == "OK"
        with pytest.raises((imaplib.IMAP4.error, imaplib.IMAP4.abort)):
            typ, data = bimap.fetch("1", "(BODY[])")
            if typ != "OK":
                raise imaplib.IMAP4.error(typ)
    finally:
        try:
            bimap.logout()
        except (imaplib.IMAP4.error, imaplib.IMAP4.abort, OSError):
            pass
    wait_for(lambda: any(e in ln for ln in dv.lines_of("bob@example.test") for e in SIZE_ERRORS),
             timeout=IO_TIMEOUT, what="Dovecot's error about the wrong S= in bob's Maildir")

    # and a wrong password is refused (last: Dovecot then slows this client down)
    imap = imaplib.IMAP4("127.0.0.1", dv.imap_port, timeout=IO_TIMEOUT)
    try:
        with pytest.raises(imaplib.IMAP4.error):
            imap.login("alice@example.test", "wrong password")
    finally:
        imap.shutdown()
