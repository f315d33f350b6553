"""Protocol details of SPEC "Behaviour that outside tests check" not covered
by the dialog corpus, and the daemon's signals (SIGTERM, SIGINT, SIGHUP)."""

import os
import re
import signal
import time

import pytest

from conftest import ANY_HASH, DEFERRED, STOP_TIMEOUT, dot_stuff, queue_id_of, transaction, wait_for

ENHANCED = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}( |$)")


def test_every_error_after_ehlo_has_enhanced_code(postino_factory):
    postino = postino_factory(config={"limits": {"max_errors": "1000"}})
    commands = [
        "FOO", "MAIL", "MAIL FROM:", "MAIL FROM:<a@b", "MAIL FROM:<a@remote.example> BAR=1",
        "RCPT TO:<alice@example.test>", "DATA", "BDAT 5", "BDAT x",
        "MAIL FROM:<a@remote.example>", "MAIL FROM:<b@remote.example>",
        "RCPT TO:<nobody@example.test>", "RCPT TO:<x@remote.example>", "RCPT TO:<>",
        "RCPT TO:<a b@example.test>", "DATA", "RSET x", "NOOP", "EXPN x", "TURN",
        "VRFY", "HELO", "EHLO", "ETRN", "STARTTLS", "AUTH PLAIN", "ATRN",
        "RSET", "MAIL FROM:<a@remote.example> SIZE=abc", "QUIT",
    ]
    with postino.connect() as c:
        c.greet()
        for cmd in commands:
            c.cmd(cmd)
            code, texts = c.reply()
            if code >= 400:
                assert ENHANCED.match(texts[-1]), f"{cmd!r} -> {code} {texts[-1]!r}: no enhanced code"
                for t in texts:
                    assert ENHANCED.match(t), f"{cmd!r}: continuation line {t!r} lacks the code"
            if code == 221:
                break


def test_commands_case_insensitive(postino):
    with postino.connect() as c:
        c.expect(220)
        c.command("ehlo client.example", 250)
        c.command("mail from:<s@remote.example> body=8bitmime", 250, "2.1.0")
        c.command("rcpt to:<Alice@Example.Test>", 250, "2.1.5")
        c.command("data", 354)
        c.send(dot_stuff(b"Subject: lower\n\nx\n"))
        qid = queue_id_of(c.expect(250, "2.0.0"))
        c.command("Quit", 221)
    postino.wait_id(qid, "alice")


def test_helo_session(postino):
    with postino.connect() as c:
        c.expect(220)
        c.command("HELO client.example", 250)
        qid = transaction(c, "s@remote.example", ["bob@example.test"], b"Subject: helo\n\nx\n")
        c.command("QUIT", 221)
    d = postino.wait_id(qid, "bob")
    assert "client.example" in d.received


def test_turn_refused(postino):
    with postino.connect() as c:
        c.greet()
        c.command("TURN", 502)
        c.command("QUIT", 221)


# --------------------------------------------------------------------------
# signals

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_with_idle_sessions(postino, sig):
    conns = [postino.connect() for _ in range(3)]
    try:
        for c in conns:
            c.greet()
        conns[1].command("MAIL FROM:<s@remote.example>", 250)
        t0 = time.monotonic()
        postino.send_signal(sig)
        for c in conns:
            code, texts = c.reply(timeout=STOP_TIMEOUT)
            assert code == 421 and texts[-1].startswith("4."), (code, texts)
            assert c.closed()
        rc = postino.proc.wait(STOP_TIMEOUT)
        assert rc == 0, f"exit status {rc} after {sig.name}"
        assert time.monotonic() - t0 < 8, "idle sessions kept the daemon from stopping"
    finally:
        for c in conns:
            c.close()
    postino.exit_codes.append(rc)


def test_sigterm_during_data(postino):
    """A session inside DATA may finish (then its message is safe) or be
    abandoned safely (then it is not stored); either way exit 0."""
    content = b"Subject: in flight\n\nfirst half\nsecond half\n"
    wire = dot_stuff(content)
    with postino.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250)
        c.command("RCPT TO:<alice@example.test>", 250)
        c.command("DATA", 354)
        c.send(wire[:20])
        time.sleep(0.1)
        postino.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        try:
            c.send(wire[20:])
            code, texts = c.reply(timeout=STOP_TIMEOUT)
        except (OSError, AssertionError):
            code, texts = None, []
    rc = postino.proc.wait(STOP_TIMEOUT)
    postino.exit_codes.append(rc)
    assert rc == 0
    postino.start()
    if code == 250:
        assert postino.wait_id(queue_id_of(texts), "alice").body == content
    else:
        assert code in (None, 421, 451), (code, texts)
        qid = postino.send("s@remote.example", ["alice@example.test"], b"Subject: s\n\ns\n")
        postino.wait_id(qid, "alice")
        assert [d.queue_id for d in postino.delivered("alice")] == [qid]


def test_sighup_keeps_sessions_and_queue(postino_factory):
    p = postino_factory(config={"relay": {"networks": "127.0.0.0/8"}})
    queued = p.send("s@remote.example", ["user@remote.example"], b"Subject: q\n\nqueued\n")
    p.wait_log(rf"{queued} {DEFERRED}")
    with p.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250)
        p.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        assert p.running, "SIGHUP ended the daemon"
        c.command("RCPT TO:<alice@example.test>", 250)
        c.command("DATA", 354)
        c.send(dot_stuff(b"Subject: across hup\n\nx\n"))
        qid = queue_id_of(c.expect(250, "2.0.0"))
        c.command("QUIT", 221)
    p.wait_id(qid, "alice")
    assert queued in os.listdir(p.spool / "msg"), "SIGHUP dropped the queue"
    qid2 = p.send("s@remote.example", ["bob@example.test"], b"Subject: after hup\n\ny\n")
    p.wait_id(qid2, "bob")


def test_sighup_reloads_configuration(postino):
    """SPEC: SIGHUP reloads the configuration (here: a new user in the users
    file named by it, and a new max_recipients)."""
    with postino.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250)
        c.command("RCPT TO:<carol@example.test>", 550, "5.1.1")
        c.command("QUIT", 221)
    with open(postino.root / "users", "a") as f:
        f.write(f"carol@example.test:{ANY_HASH}\n")
    postino.send_signal(signal.SIGHUP)

    def carol_accepted():
        with postino.connect() as c:
            c.greet()
            c.command("MAIL FROM:<s@remote.example>", 250)
            c.cmd("RCPT TO:<carol@example.test>")
            code, _ = c.reply()
            c.command("QUIT", 221)
            return code == 250
    wait_for(carol_accepted, timeout=10, interval=0.2, what="carol accepted after SIGHUP")
    qid = postino.send("s@remote.example", ["carol@example.test"], b"Subject: c\n\nnew user\n")
    postino.wait_id(qid, "carol")
