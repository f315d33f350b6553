"""Store and forward (issue 4): delivery to other domains through real DNS
(dnsmasq on loopback) to real SMTP servers (aiosmtpd sinks on 127.0.0.x, all
on the port postino's [delivery] remote_port points at)."""

import email
import os
import shutil
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from conftest import IO_TIMEOUT, dnsmasq_cmd, free_port, wait_for

SINK_PORT = None


class Sink:
    """An SMTP server on host:SINK_PORT. replies: a list of DATA replies to
    give in turn (then "250 2.0.0 ok"); each accepted message is kept."""

    def __init__(self, host, replies=None, tls=None):
        self.host = host
        self.replies = list(replies or [])
        self.messages = []
        self.tls_used = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                if sink.replies:
                    return sink.replies.pop(0)
                sink.messages.append(envelope)
                sink.tls_used.append(session.ssl is not None)
                return "250 2.0.0 ok"

        kw = {"tls_context": tls} if tls else {}
        self.ctl = Controller(Handler(), hostname=host, port=SINK_PORT, **kw)
        self.ctl.start()

    def stop(self):
        self.ctl.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """DNS for the test domains; sinks are made per test."""
    global SINK_PORT
    SINK_PORT = free_port()
    port = free_port()
    records = [
        # preferred MX and a backup
        "--mx-host=pref.test,mx1.pref.test,10", "--mx-host=pref.test,mx2.pref.test,20",
        "--host-record=mx1.pref.test,127.0.0.2", "--host-record=mx2.pref.test,127.0.0.3",
        # the first MX refuses connections (nothing on 127.0.0.4)
        "--mx-host=fallback.test,dead.fallback.test,10",
        "--mx-host=fallback.test,live.fallback.test,20",
        "--host-record=dead.fallback.test,127.0.0.4", "--host-record=live.fallback.test,127.0.0.5",
        # no MX: the domain's own address
        "--host-record=amx.test,127.0.0.6", "--local=/amx.test/",
        # null MX (RFC 7505): "0 ."
        "--dns-rr=nullmx.test,15,0000 00",
        # one sink per scenario below
        "--mx-host=retry.test,mx.retry.test,10", "--host-record=mx.retry.test,127.0.0.7",
        "--mx-host=perm.test,mx.perm.test,10", "--host-record=mx.perm.test,127.0.0.8",
        "--mx-host=tls.test,mx.tls.test,10", "--host-record=mx.tls.test,127.0.0.9",
        "--mx-host=etrn.test,mx.etrn.test,10", "--host-record=mx.etrn.test,127.0.0.10",
        "--mx-host=restart.test,mx.restart.test,10",
        "--host-record=mx.restart.test,127.0.0.11",
        "--address=/nxdomain.test/",
        # a real Postfix as the MX (test_postfix_peer)
        "--mx-host=pf.test,mx.pf.test,10", "--host-record=mx.pf.test,127.0.0.12",
    ]
    proc = subprocess.Popen(dnsmasq_cmd(port, records), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(0.2)
    yield {"dns": port}
    proc.terminate()
    proc.wait(timeout=10)


def server(postino_factory, world, **delivery):
    d = {"remote_port": str(SINK_PORT), "retry_min": "1s", "retry_max": "2s"}
    d.update(delivery)
    return postino_factory(config={
        "relay": {"networks": "127.0.0.0/8"},
        "dns": {"resolver": f"127.0.0.1:{world['dns']}"},
        "delivery": d,
    }, users=["alice", "bob", "postmaster", "sender"])


def bounce_of(p, user="sender"):
    [d] = p.wait_delivered(user)
    m = email.message_from_bytes(d.body)
    assert m.get_content_type() == "multipart/report", d.body[:500]
    assert m.get_param("report-type") == "delivery-status"
    status = [part for part in m.walk() if part.get_content_type() == "message/delivery-status"]
    assert status, d.body[:2000]
    assert d.return_path == "<>"
    return m, d.body.decode("utf-8", "replace")


def test_preferred_mx(postino_factory, world):
    s1, s2 = Sink("127.0.0.2"), Sink("127.0.0.3")
    try:
        p = server(postino_factory, world)
        qid = p.send("sender@example.test", ["rcpt@pref.test"], b"Subject: pref\n\nbody\n")
        wait_for(lambda: s1.messages, what="delivery to the preferred MX")
        assert not s2.messages
        env = s1.messages[0]
        assert env.mail_from == "sender@example.test"
        assert env.rcpt_tos == ["rcpt@pref.test"]
        assert env.original_content.endswith(b"Subject: pref\r\n\r\nbody\r\n")
        assert b"by mx.example.test (postino)" in env.original_content
        p.wait_log(rf"{qid} deliver\.remote to=<rcpt@pref\.test> status=sent .*mx=mx1\.pref\.test "
                   r"addr=127\.0\.0\.2")
        p.wait_log(rf"{qid} queue\.done")
    finally:
        s1.stop()
        s2.stop()


def test_next_mx_when_first_refuses(postino_factory, world):
    live = Sink("127.0.0.5")
    try:
        p = server(postino_factory, world)
        p.send("sender@example.test", ["a@fallback.test", "b@fallback.test"],
               b"Subject: fb\n\nx\n")
        wait_for(lambda: live.messages, what="delivery to the second MX")
        assert sorted(live.messages[0].rcpt_tos) == ["a@fallback.test", "b@fallback.test"]
        assert "remote.connect_failed mx=dead.fallback.test" in p.read_log()
    finally:
        live.stop()


def test_implicit_mx_uses_address_record(postino_factory, world):
    s = Sink("127.0.0.6")
    try:
        p = server(postino_factory, world)
        p.send("sender@example.test", ["x@amx.test"], b"Subject: a\n\nx\n")
        wait_for(lambda: s.messages, what="delivery to the A record")
    finally:
        s.stop()


def test_tempfail_then_success(postino_factory, world):
    s = Sink("127.0.0.7", replies=["451 4.3.0 try later"])
    try:
        p = server(postino_factory, world)
        qid = p.send("sender@example.test", ["x@retry.test"], b"Subject: r\n\nx\n")
        p.wait_log(rf"{qid} deliver\.remote to=<x@retry\.test> status=deferred .*451 4\.3\.0")
        wait_for(lambda: s.messages, timeout=20, what="delivery on a later attempt")
        p.wait_log(rf"{qid} queue\.done")
        assert not p.maildir_files("sender"), "a temporary failure must not bounce"
    finally:
        s.stop()


def test_permanent_failure_bounces(postino_factory, world):
    s = Sink("127.0.0.8", replies=["550 5.1.1 no such user here"])
    try:
        p = server(postino_factory, world)
        qid = p.send("sender@example.test", ["nobody@perm.test"],
                     b"Subject: will bounce\n\noriginal body\n")
        m, text = bounce_of(p)
        assert "Final-Recipient: rfc822; nobody@perm.test" in text
        assert "Action: failed" in text
        assert "Status: 5.1.1" in text
        assert "Remote-MTA: dns; mx.perm.test" in text
        assert "550 5.1.1 no such user here" in text
        assert "Subject: will bounce" in text      # the original comes back
        p.wait_log(rf"{qid} queue\.done")
    finally:
        s.stop()


def test_null_mx_bounces_at_once_then_refused_at_rcpt(postino_factory, world):
    p = server(postino_factory, world)
    p.send("sender@example.test", ["x@nullmx.test"], b"Subject: n\n\nx\n")
    m, text = bounce_of(p)
    assert "Status: 5.1.10" in text
    # now it is known: RCPT is refused at once (SPEC: 556 5.1.10 when known then)
    with p.connect() as c:
        c.greet()
        c.command("MAIL FROM:<sender@example.test>", 250)
        c.command("RCPT TO:<y@nullmx.test>", 556, "5.1.10")
        c.command("QUIT", 221)


def test_nxdomain_bounces(postino_factory, world):
    p = server(postino_factory, world)
    p.send("sender@example.test", ["x@nxdomain.test"], b"Subject: n\n\nx\n")
    m, text = bounce_of(p)
    assert "Action: failed" in text


def test_bounce_never_bounces(postino_factory, world):
    s = Sink("127.0.0.8", replies=["550 5.1.1 no", "550 5.1.1 no"])
    try:
        p = server(postino_factory, world)
        qid = p.send("", ["nobody@perm.test"], b"Subject: from null\n\nx\n")
        # a message from <> that fails goes to postmaster once, not to <>
        m, text = bounce_of(p, "postmaster")
        p.wait_log(rf"{qid} queue\.done")
        assert not p.maildir_files("sender")
    finally:
        s.stop()


def test_starttls_used_when_offered(postino_factory, world, tmp_path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=mx.tls.test",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True,
                   timeout=30)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert), str(key))
    s = Sink("127.0.0.9", tls=ctx)
    try:
        p = server(postino_factory, world)
        qid = p.send("sender@example.test", ["x@tls.test"], b"Subject: t\n\nx\n")
        wait_for(lambda: s.messages, what="delivery over TLS")
        assert s.tls_used == [True]
        p.wait_log(rf"{qid} remote\.tls mx=mx\.tls\.test TLSv1\.[23]")
    finally:
        s.stop()


def test_etrn_sends_waiting_mail_at_once(postino_factory, world):
    s = Sink("127.0.0.10", replies=["451 4.3.0 later"])
    try:
        p = server(postino_factory, world, retry_min="1h", retry_max="2h")
        qid = p.send("sender@example.test", ["x@etrn.test"], b"Subject: e\n\nx\n")
        p.wait_log(rf"{qid} deliver\.remote to=<x@etrn\.test> status=deferred")
        time.sleep(0.5)
        assert not s.messages
        with p.connect() as c:
            c.greet()
            c.command("ETRN etrn.test", 250)
            c.command("QUIT", 221)
        wait_for(lambda: s.messages, timeout=15, what="delivery after ETRN")
    finally:
        s.stop()


def test_queue_survives_restart_between_attempts(postino_factory, world):
    p = server(postino_factory, world, retry_min="1h", retry_max="2h")
    qid = p.send("sender@example.test", ["x@restart.test"], b"Subject: s\n\nkept\n")
    p.wait_log(rf"{qid} deliver\.remote to=<x@restart\.test> status=deferred")
    assert p.stop() == 0
    s = Sink("127.0.0.11")
    try:
        p.start()
        # recovered; flush it now rather than in an hour
        with p.connect() as c:
            c.greet()
            c.command("ETRN restart.test", 250)
            c.command("QUIT", 221)
        wait_for(lambda: s.messages, timeout=15, what="delivery after the restart")
        assert s.messages[0].original_content.endswith(b"\r\n\r\nkept\r\n")
    finally:
        s.stop()


def send_with_rcpt_params(p, sender, rcpt, params, content):
    with p.connect() as c:
        c.greet()
        c.command(f"MAIL FROM:<{sender}> RET=HDRS ENVID=env+2B1", 250)
        c.command(f"RCPT TO:<{rcpt}> {params}", 250)
        c.command("DATA", 354)
        c.send(content.replace(b"\n", b"\r\n") + b".\r\n")
        code, texts = c.reply()
        assert code == 250, texts
        c.command("QUIT", 221)
        return texts[-1].split()[-1]


def test_notify_never_gives_no_bounce(postino_factory, world):
    s = Sink("127.0.0.8", replies=["550 5.1.1 no"])
    try:
        p = server(postino_factory, world)
        qid = send_with_rcpt_params(p, "sender@example.test", "x@perm.test", "NOTIFY=NEVER",
                                    b"Subject: quiet\n\nx\n")
        p.wait_log(rf"{qid} deliver\.remote to=<x@perm\.test> status=bounced")
        p.wait_log(rf"{qid} queue\.done")
        time.sleep(0.5)
        assert not p.maildir_files("sender")
        assert "bounce.queued" not in p.read_log()
    finally:
        s.stop()


def test_notify_success_reports_delivery(postino_factory, world):
    p = server(postino_factory, world)
    qid = send_with_rcpt_params(p, "sender@example.test", "alice@example.test",
                                "NOTIFY=SUCCESS ORCPT=rfc822;alice+2Bx@example.test",
                                b"Subject: tell me\n\nx\n")
    p.wait_delivered("alice")
    m, text = bounce_of(p)
    assert "Action: delivered" in text
    assert "Original-Recipient: rfc822; alice+x@example.test" in text
    assert "Original-Envelope-Id: env+1" in text
    assert m["Subject"] == "Successful Mail Delivery Report"
    p.wait_log(rf"{qid} queue\.done")


POSTFIX_MASTER_CF = """\
127.0.0.12:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


@pytest.fixture
def postfix_mx(world):
    """A private Postfix (never /etc/postfix) on 127.0.0.12:SINK_PORT that
    delivers every recipient of pf.test into one Maildir."""
    if os.geteuid() != 0 or not os.path.exists("/usr/sbin/postfix"):
        pytest.skip("needs root and Debian's postfix package")
    root = Path(tempfile.mkdtemp(prefix="postino-pf-"))
    os.chmod(root, 0o755)
    conf, queue, data, vmail = (root / x for x in ("conf", "queue", "data", "vmail"))
    for d in (conf, queue, data, vmail / "pf.test" / "all"):
        d.mkdir(parents=True)
    shutil.chown(data, "postfix", "postfix")
    for d in (vmail / "pf.test", vmail / "pf.test" / "all"):
        shutil.chown(d, "nobody", "nogroup")
    (conf / "main.cf").write_text(f"""compatibility_level = 3.6
config_directory = {conf}
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.pf.test
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
smtputf8_enable = no
virtual_mailbox_domains = pf.test
virtual_mailbox_base = {vmail}
virtual_mailbox_maps = static:pf.test/all/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
maillog_file_prefixes = {root}
maillog_file = {root}/maillog
""")
    (conf / "master.cf").write_text(POSTFIX_MASTER_CF.format(port=SINK_PORT))
    for cmd in ("check", "start"):
        r = subprocess.run(["/usr/sbin/postfix", "-c", str(conf), cmd], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, f"postfix {cmd}: {r.stdout}{r.stderr}"
    try:
        yield vmail / "pf.test" / "all" / "new"
    finally:
        subprocess.run(["/usr/sbin/postfix", "-c", str(conf), "stop"], capture_output=True,
                       timeout=60)
        try:
            master = int((queue / "pid" / "master.pid").read_text().split()[0])
            wait_for(lambda: not os.path.exists(f"/proc/{master}"), timeout=30,
                     what="the Postfix master to exit")
        except (OSError, ValueError, IndexError):
            pass
        shutil.rmtree(root, ignore_errors=True)


def test_postfix_peer(postino_factory, world, postfix_mx):
    p = server(postino_factory, world)
    content = b"Subject: to postfix\n\n..leading dot\nline\n"
    qid = p.send("sender@example.test", ["someone@pf.test", "other@pf.test"], content)
    p.wait_log(rf"{qid} queue\.done", timeout=30)
    assert "status=sent" in p.read_log()
    wait_for(lambda: postfix_mx.exists() and len(os.listdir(postfix_mx)) == 2, timeout=30,
             what="Postfix to deliver both copies")
    for name in os.listdir(postfix_mx):
        body = (postfix_mx / name).read_bytes()
        # Postfix adds the Date, Message-Id and From the message lacks; the body
        # (p.send dot-stuffs: the message holds "..leading dot") arrives intact
        assert b"\nSubject: to postfix\n" in body
        assert body.endswith(b"\n\n..leading dot\nline\n"), body[-200:]
        assert b"by mx.example.test (postino)" in body


def test_several_messages_over_one_connection(postino_factory, world):
    s = Sink("127.0.0.2")
    s2 = Sink("127.0.0.3")
    try:
        p = server(postino_factory, world)
        for i in range(5):
            p.send("sender@example.test", [f"r{i}@pref.test"], f"Subject: m{i}\n\nx\n".encode())
            wait_for(lambda: len(s.messages) == i + 1, what=f"message {i}")
        log = p.read_log()
        assert log.count("remote.reuse mx=mx1.pref.test") >= 3, log
        assert log.count("remote.connected mx=mx1.pref.test") <= 2, log
    finally:
        s.stop()
        s2.stop()
