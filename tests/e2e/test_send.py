"""`postino send` and the binary under the name `sendmail`: submission over
the daemon's UNIX socket <spool>/submit, the maildrop while the daemon is
down, sendmail's options and its sysexits.h exit statuses.

Every client run is bounded (SEND_TIMEOUT) and must leave no sanitizer
report on its stderr."""

import atexit
import os
import pwd
import re
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (HOSTNAME, LOCAL_DOMAIN, POSTINO_BIN, Delivered, run_user,
                      sanitizer_problems, wait_for)

SEND_TIMEOUT = 30.0     # seconds for one client run
IMPORT_TIMEOUT = 20.0   # seconds for a maildrop file to be imported and delivered

EX_OK, EX_USAGE, EX_DATAERR, EX_NOUSER, EX_UNAVAILABLE, EX_TEMPFAIL = 0, 64, 65, 67, 69, 75

DATE_RE = re.compile(rb"^Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$",
                     re.M)
MSGID_RE = re.compile(rb"^Message-ID: <\d+\.\d+\.[0-9a-f]{16}@" + re.escape(HOSTNAME.encode())
                      + rb">$", re.M)
NOT_RUNNING = "the mail system is not running; your message was queued for it (maildrop)"


def client_env():
    env = dict(os.environ)
    env.pop("POSTINO_CONFIG", None)
    env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    env["TZ"] = "UTC"
    return env


_PUBLIC_BIN = {}


def public_binary():
    """The binary under test, copied where any user may run it: the build
    directory may sit in a private one (a CI clone under mktemp -d)."""
    if "path" not in _PUBLIC_BIN:
        d = Path(tempfile.mkdtemp(prefix="postino-bin-", dir="/tmp"))
        atexit.register(shutil.rmtree, d, True)
        d.chmod(0o755)
        dst = d / "postino"
        shutil.copy2(POSTINO_BIN, dst)
        dst.chmod(0o755)
        _PUBLIC_BIN["path"] = dst
    return _PUBLIC_BIN["path"]


def run_send(args, message=b"", argv0=None, user=None):
    """Run `postino ARGS` (or, with argv0, that path: a `sendmail` symlink)
    with message on stdin, as user (a pwd entry) when given; returns (exit
    status, stdout, stderr)."""
    binary = public_binary() if user else POSTINO_BIN
    cmd = [str(argv0)] + list(args) if argv0 else [str(binary)] + list(args)
    if isinstance(message, str):
        message = message.encode()

    def become():
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)

    p = subprocess.run(cmd, input=message, capture_output=True, timeout=SEND_TIMEOUT,
                       env=client_env(), preexec_fn=become if user else None)
    err = p.stderr.decode("utf-8", "replace")
    san = sanitizer_problems(err)
    assert not san, f"sanitizer report from {cmd}:\n{err}"
    return p.returncode, p.stdout, err


@pytest.fixture
def sendmail(tmp_path):
    """A `sendmail` symlink to the binary under test."""
    d = tmp_path / "bin"
    d.mkdir()
    link = d / "sendmail"
    link.symlink_to(POSTINO_BIN)
    return link


def header_and_body(raw):
    head, _, body = raw.partition(b"\n\n")
    return head + b"\n", body


def maildrop_files(p):
    d = p.spool / "maildrop"
    return sorted(f for f in d.iterdir()) if d.exists() else []


def stopped_daemon(postino_factory, **kw):
    """A daemon started once (so the spool, socket path and maildrop exist)
    and stopped again."""
    p = postino_factory(**kw)
    p.stop()
    return p


# --------------------------------------------------------------------------
# through the running daemon

def test_php_style_t_i(postino, sendmail):
    """PHP's mail(): `sendmail -t -i`; recipients from To, Cc and Bcc, the
    Bcc field gone, Date and Message-ID added, a lone dot kept by -i."""
    msg = (b"To: Alice <alice@example.test>\n"
           b"Cc: \"Bob, B.\" <bob@example.test> (the builder)\n"
           b"Bcc: postmaster@example.test\n"
           b"Subject: from php\n"
           b"From: webapp@example.test\n"
           b"\n"
           b"line one\n.\n..two dots\nlast\n")
    rc, out, err = run_send(["-C", str(postino.conf), "-t", "-i"], msg, argv0=sendmail)
    assert rc == EX_OK, err
    assert err == ""
    for user in ("alice", "bob", "postmaster"):
        d = postino.wait_delivered(user)[0]
        assert d.return_path == f"<{run_user()}@{HOSTNAME}>"
        head, body = header_and_body(d.body)
        assert b"Bcc" not in head, head
        assert b"postmaster@example.test" not in d.body
        assert head.startswith(b"To: Alice <alice@example.test>\n"
                               b"Cc: \"Bob, B.\" <bob@example.test> (the builder)\n"
                               b"Subject: from php\n"
                               b"From: webapp@example.test\n")
        assert DATE_RE.search(head) and MSGID_RE.search(head), head
        assert body == b"line one\n.\n..two dots\nlast\n"
        assert f"user={run_user()}" in d.received, d.received
    # one message, one queue ID for all three
    ids = {postino.delivered(u)[0].queue_id for u in ("alice", "bob", "postmaster")}
    assert len(ids) == 1


def test_mail_style_f_rcpt(postino, sendmail):
    """mailx: `sendmail -i -f sender rcpt`; the message's own Date and
    Message-ID are kept, a From is added; CRLF input is stored as LF."""
    msg = (b"Subject: from mail\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
           b"Message-ID: <own@id>\r\n\r\nhello\r\n")
    rc, _, err = run_send(["-C", str(postino.conf), "-oi", "-f", "carol@remote.example",
                           "alice@example.test"], msg, argv0=sendmail)
    assert rc == EX_OK, err
    d = postino.wait_delivered("alice")[0]
    assert d.return_path == "<carol@remote.example>"
    assert d.body == (b"Subject: from mail\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
                      b"Message-ID: <own@id>\nFrom: carol@remote.example\n\nhello\n")


def test_postino_send_defaults(postino):
    """`postino send -c FILE rcpt`: the default sender is the user at the
    hostname; a bare recipient gets the first local domain; a lone dot ends
    the input without -i; -F names the added From."""
    rc, _, err = run_send(["send", "-c", str(postino.conf), "-F", "Ann O'Nymous", "bob"],
                          b"Subject: s\n\nfirst\n.\nnot read\n")
    assert rc == EX_OK, err
    d = postino.wait_delivered("bob")[0]
    me = f"{run_user()}@{HOSTNAME}"
    assert d.return_path == f"<{me}>"
    assert "bob@example.test" in d.delivered_to
    head, body = header_and_body(d.body)
    assert f"From: Ann O'Nymous <{me}>\n".encode() in head, head
    assert body == b"first\n"


def test_config_before_subcommand_and_null_sender(postino):
    """`postino -c FILE send -f '<>' ...`: the null sender; a message with no
    header at all gets the added fields and an empty line before it."""
    rc, _, err = run_send(["-c", str(postino.conf), "send", "-f", "<>", "alice@example.test"],
                          b"no header here\n")
    assert rc == EX_OK, err
    d = postino.wait_delivered("alice")[0]
    assert d.return_path == "<>"
    head, body = header_and_body(d.body)
    assert head.startswith(f"From: {run_user()}@{HOSTNAME}\n".encode()), head
    assert body == b"no header here\n"


def test_unknown_user_exit_67(postino, sendmail):
    """550 5.1.1 for one recipient: EX_NOUSER, the refusal on stderr, and
    the other recipient still gets the message."""
    rc, _, err = run_send(["-C", str(postino.conf), "alice@example.test",
                           "nosuch@example.test"], b"Subject: x\n\nbody\n", argv0=sendmail)
    assert rc == EX_NOUSER, err
    assert "nosuch@example.test" in err and "550 5.1.1" in err, err
    assert "alice@example.test" not in err
    d = postino.wait_delivered("alice")[0]
    assert d.body.endswith(b"\n\nbody\n")


def test_all_unknown_exit_67(postino, sendmail):
    rc, _, err = run_send(["-C", str(postino.conf), "nosuch@example.test"], b"x\n",
                          argv0=sendmail)
    assert rc == EX_NOUSER, err


def test_remote_recipient_accepted(postino, sendmail):
    """Local submission may relay: a remote recipient is accepted (and
    deferred, its MX being a closed port)."""
    rc, _, err = run_send(["-C", str(postino.conf), "someone@remote.example"], b"x\n",
                          argv0=sendmail)
    assert rc == EX_OK, err


def test_verbose_shows_conversation(postino, sendmail):
    rc, _, err = run_send(["-C", str(postino.conf), "-v", "alice@example.test"], b"x\n",
                          argv0=sendmail)
    assert rc == EX_OK, err
    assert ">>> EHLO localhost" in err
    assert f">>> MAIL FROM:<{run_user()}@{HOSTNAME}>" in err
    assert ">>> RCPT TO:<alice@example.test>" in err
    assert re.search(r"<<< 250 2\.0\.0 Ok: queued as [0-9A-Z]+", err), err
    assert "sent (250 2.0.0" in err


def test_batches_over_max_recipients(postino_factory, sendmail):
    """More recipients than max_recipients go in several transactions."""
    users = ["u1", "u2", "u3", "u4", "u5", "postmaster"]
    p = postino_factory(users=users, config={"server": {"max_recipients": "2"}})
    rc, _, err = run_send(["-C", str(p.conf)] + [f"{u}@{LOCAL_DOMAIN}" for u in users[:5]],
                          b"Subject: many\n\nx\n", argv0=sendmail)
    assert rc == EX_OK, err
    for u in users[:5]:
        assert p.wait_delivered(u)[0].body.endswith(b"\n\nx\n")


def test_duplicates_and_lists(postino, sendmail):
    """Recipients as address lists, any case, given twice: one copy each."""
    rc, _, err = run_send(["-C", str(postino.conf), "Alice <alice@example.test>, bob",
                           "ALICE@example.test", "-not-an-option-after-rcpt@example.test"],
                          b"x\n", argv0=sendmail)
    # the last one is a recipient (options end at the first recipient), unknown here
    assert rc == EX_NOUSER, err
    postino.wait_delivered("alice")
    postino.wait_delivered("bob")
    time.sleep(0.5)
    assert len(postino.delivered("alice")) == 1


def test_8bit_and_utf8(postino, sendmail):
    msg = "Subject: caf\u00e9\n\nna\u00efve \u2014 text\n".encode()
    rc, _, err = run_send(["-C", str(postino.conf), "alice@example.test"], msg, argv0=sendmail)
    assert rc == EX_OK, err
    _, body = header_and_body(postino.wait_delivered("alice")[0].body)
    assert body == "na\u00efve \u2014 text\n".encode()


def test_bs_speaks_smtp(postino, sendmail):
    """-bs: an interactive SMTP session on stdin/stdout, relayed to the
    daemon: each reply is read before the next command goes out."""
    env = client_env()
    proc = subprocess.Popen([str(sendmail), "-C", str(postino.conf), "-bs"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    buf = b""

    def reply():
        nonlocal buf
        deadline = time.monotonic() + SEND_TIMEOUT
        while True:
            lines = buf.split(b"\r\n")
            for i, ln in enumerate(lines[:-1]):
                if len(ln) >= 4 and ln[3:4] == b" ":
                    buf = b"\r\n".join(lines[i + 1:])
                    return int(ln[:3]), ln
            left = deadline - time.monotonic()
            assert left > 0, f"no reply from sendmail -bs (have {buf!r})"
            r, _, _ = select.select([proc.stdout], [], [], left)
            if r:
                chunk = os.read(proc.stdout.fileno(), 65536)
                assert chunk, f"sendmail -bs closed early (have {buf!r})"
                buf += chunk

    def cmd(line, want):
        proc.stdin.write(line + b"\r\n")
        proc.stdin.flush()
        code, text = reply()
        assert code == want, (line, text)
        return text

    try:
        code, text = reply()
        assert code == 220 and HOSTNAME.encode() in text
        cmd(b"EHLO client.example", 250)
        cmd(b"MAIL FROM:<dave@remote.example>", 250)
        cmd(b"RCPT TO:<nosuch@example.test>", 550)
        cmd(b"RCPT TO:<alice@example.test>", 250)
        cmd(b"DATA", 354)
        text = cmd(b"Subject: bs\r\n\r\n..dot\r\n.", 250)
        assert re.search(rb"queued as [0-9A-Z]+", text)
        cmd(b"QUIT", 221)
        proc.stdin.close()
        assert proc.wait(SEND_TIMEOUT) == EX_OK
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    err = proc.stderr.read().decode("utf-8", "replace")
    assert not sanitizer_problems(err), err
    d = postino.wait_delivered("alice")[0]
    assert d.return_path == "<dave@remote.example>"
    assert d.body == b"Subject: bs\n\n.dot\n"   # -bs is plain SMTP: nothing is added
    assert f"user={run_user()}" in d.received


def test_bs_whole_session_piped(postino):
    """A whole session written at once, stdin closed at the end: every
    reply still comes back."""
    session = (b"EHLO x\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<bob@example.test>\r\n"
               b"DATA\r\nSubject: piped\r\n\r\nhi\r\n.\r\nQUIT\r\n")
    rc, out, err = run_send(["send", "-c", str(postino.conf), "-bs"], session)
    assert rc == EX_OK, err
    assert re.search(rb"250 2\.0\.0 Ok: queued as [0-9A-Z]+\r\n221 ", out), out
    assert postino.wait_delivered("bob")[0].body == b"Subject: piped\n\nhi\n"


# --------------------------------------------------------------------------
# the maildrop, while the daemon is down

def test_maildrop_when_stopped_then_imported(postino_factory, sendmail):
    """Daemon down: the message goes into <spool>/maildrop in the agreed
    format, exit 0 with the notice; the daemon imports it when it starts."""
    p = stopped_daemon(postino_factory)
    msg = b"To: alice@example.test\nBcc: bob@example.test\nSubject: dropped\n\nkept\r\n"
    rc, _, err = run_send(["-C", str(p.conf), "-t", "-f", "erin@remote.example"], msg,
                          argv0=sendmail)
    assert rc == EX_OK, err
    assert err.strip() == f"sendmail: {NOT_RUNNING}", err
    files = maildrop_files(p)
    assert len(files) == 1, files
    f = files[0]
    assert re.fullmatch(r"\d+\.\d+\.[0-9a-f]{16}", f.name), f.name
    # 0644: the daemon reads it after dropping privileges; the 1733 directory
    # keeps other users from listing or removing it
    assert (f.stat().st_mode & 0o777) == 0o644
    data = f.read_bytes()
    env, _, content = data.partition(b"\n\n")
    assert env.split(b"\n") == [b"postino-maildrop 1", f"uid {os.getuid()}".encode(),
                                b"sender erin@remote.example", b"rcpt alice@example.test",
                                b"rcpt bob@example.test"]
    head, body = header_and_body(content)
    assert b"Bcc" not in head
    assert head.startswith(b"To: alice@example.test\nSubject: dropped\n"
                           b"From: erin@remote.example\n")
    assert DATE_RE.search(head) and MSGID_RE.search(head), head
    assert body == b"kept\n"

    p.start()
    for user in ("alice", "bob"):
        d = p.wait_delivered(user, timeout=IMPORT_TIMEOUT)[0]
        assert d.return_path == "<erin@remote.example>"
        assert d.body == content
    wait_for(lambda: maildrop_files(p) == [], IMPORT_TIMEOUT, what="an empty maildrop")


def test_maildrop_null_sender_and_import_while_running(postino_factory, tmp_path):
    """The null sender is written as an empty sender line; a file that
    arrives in the maildrop while the daemon runs is taken by its periodic
    scan."""
    p = stopped_daemon(postino_factory)
    rc, _, err = run_send(["send", "-c", str(p.conf), "-f", "", "bob"], b"S: x\n\nnull\n")
    assert rc == EX_OK, err
    assert NOT_RUNNING in err
    (f,) = maildrop_files(p)
    assert f.read_bytes().split(b"\n")[2:5] == [b"sender ", b"rcpt bob@example.test", b""]
    aside = tmp_path / f.name
    os.rename(f, aside)
    p.start()
    os.rename(aside, f)
    d = p.wait_delivered("bob", timeout=IMPORT_TIMEOUT)[0]
    assert d.return_path == "<>"
    assert d.body.endswith(b"\n\nnull\n")
    wait_for(lambda: maildrop_files(p) == [], IMPORT_TIMEOUT, what="an empty maildrop")


def test_maildrop_unwritable_tempfail(postino_factory, sendmail):
    """Neither the daemon nor a maildrop (the daemon never ran): EX_TEMPFAIL
    and an error that says the message was not sent."""
    p = postino_factory(start=False)
    rc, _, err = run_send(["-C", str(p.conf), "alice@example.test"], b"x\n", argv0=sendmail)
    assert rc == EX_TEMPFAIL, err
    assert "NOT sent" in err and "maildrop" in err, err


def test_bs_daemon_down_tempfail(postino_factory, sendmail):
    p = stopped_daemon(postino_factory)
    rc, out, err = run_send(["-C", str(p.conf), "-bs"], b"QUIT\r\n", argv0=sendmail)
    assert rc == EX_TEMPFAIL, err
    assert "not running" in err
    assert out == b""


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to run the client as another user")
def test_other_user_socket_and_maildrop(postino_factory):
    """Another Unix user (nobody) reaches the socket (spool 0711, socket
    0666) and is named in the Received field from the kernel's account
    (SO_PEERCRED); with the daemon down it can still leave a file in the
    maildrop (1733), imported as that user."""
    nobody = pwd.getpwnam("nobody")
    shared = Path(tempfile.mkdtemp(prefix="postino-send-", dir="/tmp"))
    p = None
    try:
        shared.chmod(0o755)
        p = postino_factory(config={"server": {"spool": str(shared / "spool")}})
        conf = shared / "client.conf"
        shutil.copy(p.conf, conf)
        conf.chmod(0o644)
        rc, _, err = run_send(["send", "-c", str(conf), "alice@example.test"],
                              b"Subject: from nobody\n\nx\n", user=nobody)
        assert rc == EX_OK, err
        d = p.wait_delivered("alice")[0]
        assert "user=nobody" in d.received, d.received
        assert d.return_path == f"<nobody@{HOSTNAME}>"

        p.stop()
        rc, _, err = run_send(["send", "-c", str(conf), "bob@example.test"],
                              b"Subject: dropped by nobody\n\ny\n", user=nobody)
        assert rc == EX_OK, err
        assert NOT_RUNNING in err
        (f,) = maildrop_files(p)
        assert f.stat().st_uid == nobody.pw_uid
        p.start()
        d = p.wait_delivered("bob", timeout=IMPORT_TIMEOUT)[0]
        assert "nobody" in d.received, d.received
        assert d.body.endswith(b"\n\ny\n")
    finally:
        if p is not None and p.running:
            p.stop()   # before its spool goes
        shutil.rmtree(shared, ignore_errors=True)


# --------------------------------------------------------------------------
# options, checks and exit statuses (no daemon needed)

def test_help(sendmail):
    rc, out, err = run_send(["--help"], argv0=sendmail)
    assert rc == 0 and out.startswith(b"usage: sendmail "), (out, err)
    rc, out, err = run_send(["send", "--help"])
    assert rc == 0 and out.startswith(b"usage: postino send "), (out, err)
    rc, out, err = run_send(["--help", "send"])
    assert rc == 0 and b"-bs" in out, (out, err)


@pytest.mark.parametrize("args,what", [
    (["-Z", "a@b.test"], "unknown option: -Z"),
    (["--version"], "unknown option"),
    (["-f"], "needs an argument"),
    (["-N", "sometimes", "a@b.test"], "-N"),
    (["-bp"], "postino queue"),
    (["-bd"], "postino serve"),
    (["-bx", "a@b.test"], "not supported"),
    (["-q"], "postino queue flush"),
])
def test_usage_errors(sendmail, args, what):
    rc, _, err = run_send(args, argv0=sendmail)
    assert rc == EX_USAGE, err
    assert what in err, err


def test_ignored_options_accepted(postino, sendmail):
    """What programs pass and sendmail ignores: -odb, -oem, -oQ..., -U, -m,
    -R, -V, -B, -N, -bm, and combined letters; -c is sendmail's old flag."""
    args = ["-C", str(postino.conf), "-odb", "-oem", "-oQ/var/spool", "-U", "-m", "-c",
            "-R", "hdrs", "-V", "envid1", "-B", "8BITMIME", "-N", "failure,delay", "-bm", "-ti",
            "-h", "17", "-L", "tag", "--", "bob@example.test"]
    rc, _, err = run_send(args, b"To: alice@example.test\n\nbody\n.\nmore\n", argv0=sendmail)
    assert rc == EX_OK, err
    for u in ("alice", "bob"):
        assert postino.wait_delivered(u)[0].body.endswith(b"\n\nbody\n.\nmore\n")


def test_no_recipients(postino, sendmail):
    rc, _, err = run_send(["-C", str(postino.conf)], b"x\n", argv0=sendmail)
    assert rc == EX_USAGE and "no recipients" in err, err
    rc, _, err = run_send(["-C", str(postino.conf), "-t"], b"Subject: none\n\nx\n",
                          argv0=sendmail)
    assert rc == EX_USAGE and "no recipients" in err, err
    rc, _, err = run_send(["-C", str(postino.conf), "-t"],
                          b"To: undisclosed-recipients:;\n\nx\n", argv0=sendmail)
    assert rc == EX_USAGE and "no recipients" in err, err


@pytest.mark.parametrize("args,msg,what", [
    (["a@@b.test"], b"x\n", "bad recipient"),
    (["<a@b.test"], b"x\n", "bad recipient list"),
    (["-f", "not an address", "a@b.test"], b"x\n", "bad sender"),
    (["-t"], b"To: a@b.test, <c@d.test\n\nx\n", "malformed To field"),
    (["-t"], b"Cc: x@@y\n\nx\n", "bad address in the Cc field"),
    (["a@b.test"], b"S: x\n\nbare\rCR\n", "CR"),
    (["a@b.test"], b"S: x\n\nNUL\0\n", "NUL"),
])
def test_bad_data(postino, sendmail, args, msg, what):
    rc, _, err = run_send(["-C", str(postino.conf)] + args, msg, argv0=sendmail)
    assert rc == EX_DATAERR, err
    assert what in err, err
    time.sleep(0.2)
    assert postino.all_delivered() == []


def test_too_big(postino_factory, sendmail):
    p = postino_factory(config={"server": {"max_message_size": "2K"}})
    rc, _, err = run_send(["-C", str(p.conf), "alice@example.test"], b"x" * 3000 + b"\n",
                          argv0=sendmail)
    assert rc == EX_DATAERR and "larger than" in err, err
    # just under the bound, counted with CRLF line ends and the added fields
    rc, _, err = run_send(["-C", str(p.conf), "alice@example.test"],
                          b"S: x\n\n" + b"y" * 1500 + b"\n", argv0=sendmail)
    assert rc == EX_OK, err
    p.wait_delivered("alice")


def test_header_section_bound(postino, sendmail):
    msg = b"".join(b"X-%d: y\n" % i for i in range(10001)) + b"\nbody\n"
    rc, _, err = run_send(["-C", str(postino.conf), "alice@example.test"], msg, argv0=sendmail)
    assert rc == EX_DATAERR and "header section" in err, err


def test_bad_config(tmp_path, sendmail):
    conf = tmp_path / "bad.conf"
    conf.write_text("[server]\nno_such_key = 1\n")
    rc, _, err = run_send(["-C", str(conf), "a@b.test"], b"x\n", argv0=sendmail)
    assert rc == 78, err
    assert "bad.conf:2" in err, err


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to run as other users")
def test_unprivileged_user_with_privileged_daemon_config(postino_factory):
    """A real server's shape: the daemon drops to an unprivileged account and
    its TLS key is readable by root only. An ordinary user's sendmail still
    loads the configuration (client checks only), and a maildrop file it left
    while the daemon was down is readable by the daemon after its drop."""
    nobody = pwd.getpwnam("nobody")
    shared = Path(tempfile.mkdtemp(prefix="postino-send-", dir="/tmp"))
    p = None
    try:
        shared.chmod(0o755)
        (shared / "mail").mkdir()
        os.chown(shared / "mail", nobody.pw_uid, nobody.pw_gid)
        cert, key = shared / "cert.pem", shared / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=mx",
                        "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
        key.chmod(0o600)
        p = postino_factory(config={
            "server": {"spool": str(shared / "spool"), "user": "nobody"},
            "mailboxes": {"maildir": str(shared / "mail") + "/%d/%n"},
            "tls": {"cert": str(cert), "key": str(key)},
            'listener "mx"': {"tls": "starttls"},
        })
        conf = shared / "client.conf"
        shutil.copy(p.conf, conf)
        conf.chmod(0o644)
        rc, _, err = run_send(["send", "-c", str(conf), "alice@example.test"],
                              b"Subject: plain user\n\nx\n", user=nobody)
        assert rc == EX_OK, err
        new = shared / "mail" / "example.test" / "alice" / "new"
        wait_for(lambda: new.is_dir() and len(os.listdir(new)) == 1, what="delivery")
        p.stop()
        rc, _, err = run_send(["send", "-c", str(conf), "alice@example.test"],
                              b"Subject: while down\n\ny\n", user=nobody)
        assert rc == EX_OK, err
        p.start()
        wait_for(lambda: len(os.listdir(new)) == 2, timeout=IMPORT_TIMEOUT,
                 what="maildrop import by the unprivileged daemon")
        assert not list((shared / "spool" / "maildrop").glob("*.refused"))
    finally:
        if p is not None and p.running:
            p.stop()
        shutil.rmtree(shared, ignore_errors=True)
