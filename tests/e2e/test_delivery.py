"""Local delivery: what lands in the Maildir, byte for byte, and who may send
where (unknown users, postmaster, aliases, relay refusal, relay tricks)."""

import os
import re
import shutil
import smtplib
import subprocess

import pytest

from conftest import DEFERRED, HOSTNAME, IO_TIMEOUT, dot_stuff, queue_id_of, transaction


def check_trace_fields(d, sender, rcpt, qid):
    """The three fields postino prepends: Return-Path, Delivered-To, Received."""
    assert d.return_path == f"<{sender}>", d.raw[:300]
    assert d.delivered_to.lower() == rcpt.lower(), d.raw[:300]
    assert d.queue_id == qid, f"Received does not name queue ID {qid}: {d.received!r}"
    assert f"by {HOSTNAME}" in d.received, d.received


def check_maildir_name(d):
    """Maildir file name carries ,S=<size> equal to the file's size."""
    m = re.search(r",S=(\d+)", d.path.name)
    assert m, f"no ,S=<size> in Maildir file name {d.path.name}"
    assert int(m.group(1)) == d.path.stat().st_size, (
        f"{d.path.name}: S={m.group(1)} but the file has {d.path.stat().st_size} octets")


def test_smtplib_sendmail(postino):
    msg = (b"From: Sender <sender@remote.example>\r\nTo: alice@example.test\r\n"
           b"Subject: via smtplib\r\n\r\nHello Alice.\r\n.dot line\r\nBye.\r\n")
    with smtplib.SMTP("127.0.0.1", postino.port, timeout=IO_TIMEOUT) as s:
        refused = s.sendmail("sender@remote.example", ["alice@example.test"], msg)
    assert refused == {}
    [d] = postino.wait_delivered("alice")
    assert d.return_path == "<sender@remote.example>"
    assert d.delivered_to == "alice@example.test"
    assert d.body == msg.replace(b"\r\n", b"\n")
    check_maildir_name(d)


def test_smtplib_data_reply_names_queue_id(postino):
    msg = b"Subject: id\r\n\r\nbody\r\n"
    with smtplib.SMTP("127.0.0.1", postino.port, timeout=IO_TIMEOUT) as s:
        code, banner = s.ehlo("client.example")
        assert code == 250
        assert s.has_extn("pipelining") and s.has_extn("8bitmime") and s.has_extn("size")
        assert s.mail("sender@remote.example")[0] == 250
        assert s.rcpt("alice@example.test")[0] == 250
        code, text = s.data(msg)
    assert code == 250
    qid = queue_id_of([text.decode()])
    d = postino.wait_id(qid, "alice")
    check_trace_fields(d, "sender@remote.example", "alice@example.test", qid)
    assert d.body == b"Subject: id\n\nbody\n"
    # the same ID is what the log uses
    assert re.search(rf"\b{qid}\b.*smtp\.accepted", postino.read_log())


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed")
def test_swaks(postino, tmp_path):
    body = (b"From: sender@remote.example\nTo: alice@example.test\nSubject: swaks\n\n"
            b"Line one\nLine two with 8bit \xc3\xa9t\xc3\xa9\n")
    data = tmp_path / "msg.eml"
    data.write_bytes(body[:-1])   # swaks adds the line end before the final dot
    r = subprocess.run(
        ["swaks", "--server", "127.0.0.1", "--port", str(postino.port),
         "--from", "sender@remote.example", "--to", "alice@example.test",
         "--helo", "client.example", "--data", str(data), "--timeout", "15"],
        capture_output=True, timeout=60)
    out = r.stdout.decode("utf-8", "replace")
    assert r.returncode == 0, out + r.stderr.decode("utf-8", "replace")
    m = re.search(r"<-\s+250 2\.0\.0 Ok: queued as ([0-9A-Z]+)", out)
    assert m, out
    qid = m.group(1)
    d = postino.wait_id(qid, "alice")
    check_trace_fields(d, "sender@remote.example", "alice@example.test", qid)
    assert d.body == body
    check_maildir_name(d)


CONTENTS = {
    "simple": b"Subject: simple\n\nHello.\n",
    "dots": (b"Subject: dots\n\n.\n..\n...\n. leading dot and space\n.x\n"
             b"middle . dot\n.\n"),
    "long_lines": (b"Subject: long lines\n\n" + b"a" * 998 + b"\n" + b"b" * 999 + b"\n"
                   + b"c" * 1000 + b"\n" + b"d" * 1001 + b"\n" + b"e" * 20000 + b"\n"
                   + b"." + b"f" * 19999 + b"\n"),
    "empty_body": b"Subject: no body\n\n",
    "headers_only": b"Subject: no separator\nX-Other: yes\n",
    "blank_lines": b"Subject: blanks\n\n\n\n\nafter three blank lines\n\n",
    "whitespace": b"Subject: ws\n\ntrailing spaces   \n\ttab first\n \nlast\n",
    "bare_lf_in_wire": b"Subject: lf\n\nsent with LF only\n",
}


@pytest.mark.parametrize("name", sorted(CONTENTS))
def test_content_stored_exactly(postino, name):
    content = CONTENTS[name]
    qid = postino.send("sender@remote.example", ["alice@example.test"], content)
    d = postino.wait_id(qid, "alice")
    check_trace_fields(d, "sender@remote.example", "alice@example.test", qid)
    assert d.body == content, f"got {d.body[:200]!r}..., want {content[:200]!r}..."
    check_maildir_name(d)
    assert postino.maildir_files("alice", sub="tmp") == [], "tmp/ not empty after delivery"


def test_bare_lf_wire_form(postino):
    """A client that ends lines with a bare LF (not CRLF): stored as LF."""
    with postino.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250)
        c.command("RCPT TO:<alice@example.test>", 250)
        c.command("DATA", 354)
        c.send(b"Subject: lf\n\nline one\nline two\r\n.\r\n")
        qid = queue_id_of(c.expect(250, "2.0.0"))
    assert postino.wait_id(qid, "alice").body == b"Subject: lf\n\nline one\nline two\n"


def test_8bitmime(postino):
    content = (b"Subject: =?utf-8?q?caf=C3=A9?=\nContent-Type: text/plain; charset=utf-8\n"
               b"Content-Transfer-Encoding: 8bit\n\n"
               b"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xae\nlatin-1 \xe9\xe8\xff\x80\n"
               + bytes(range(0x80, 0x100)) + b"\n")
    qid = postino.send("sender@remote.example", ["alice@example.test"], content,
                       mail_params="BODY=8BITMIME")
    d = postino.wait_id(qid, "alice")
    assert d.body == content
    check_maildir_name(d)


def test_null_sender(postino):
    qid = postino.send("", ["alice@example.test"], b"Subject: bounce\n\nnull sender\n")
    d = postino.wait_id(qid, "alice")
    assert d.return_path == "<>"


def test_multiple_recipients_one_copy_each(postino):
    content = b"Subject: to three\n\nfor everyone\n"
    qid = postino.send("sender@remote.example",
                       ["alice@example.test", "bob@example.test", "postmaster@example.test"],
                       content)
    for user in ("alice", "bob", "postmaster"):
        d = postino.wait_id(qid, user)
        check_trace_fields(d, "sender@remote.example", f"{user}@example.test", qid)
        assert d.body == content
    # wait for the next message to be sure no second copy trails behind
    qid2 = postino.send("sender@remote.example", ["alice@example.test", "bob@example.test"],
                        b"Subject: second\n\nx\n")
    postino.wait_id(qid2, "alice")
    postino.wait_id(qid2, "bob")
    for user in ("alice", "bob"):
        ids = [d.queue_id for d in postino.delivered(user)]
        assert sorted(ids) == sorted([qid, qid2]), f"{user}: {ids}"
    assert [d.queue_id for d in postino.delivered("postmaster")] == [qid]


def test_recipient_case_insensitive_domain(postino):
    qid = postino.send("s@remote.example", ["alice@EXAMPLE.Test"], b"Subject: case\n\nx\n")
    postino.wait_id(qid, "alice")


@pytest.mark.parametrize("rcpt", ["postmaster", "PostMaster", "POSTMASTER",
                                  "postmaster@example.test", "PostMaster@Example.TEST"])
def test_postmaster(postino, rcpt):
    content = b"Subject: pm\n\nto the postmaster\n"
    with postino.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250, "2.1.0")
        c.command(f"RCPT TO:<{rcpt}>", 250, "2.1.5")
        c.command("DATA", 354)
        c.send(dot_stuff(content))
        qid = queue_id_of(c.expect(250, "2.0.0"))
    d = postino.wait_id(qid, "postmaster")
    assert d.body == content
    assert d.delivered_to.lower() == "postmaster@example.test"


def test_postmaster_through_alias(postino_factory):
    """postmaster goes where postmaster@<first local domain> resolves."""
    p = postino_factory(users=["alice", "bob"],
                        aliases={"postmaster": ["alice@example.test"]})
    qid = p.send("s@remote.example", ["postmaster"], b"Subject: pm\n\nvia alias\n")
    d = p.wait_id(qid, "alice")
    assert d.body == b"Subject: pm\n\nvia alias\n"


def test_alias_to_two_users(postino_factory):
    p = postino_factory(aliases={"team": ["alice@example.test", "bob@example.test"]})
    content = b"Subject: team\n\nfor the team\n"
    qid = p.send("s@remote.example", ["team@example.test"], content)
    for user in ("alice", "bob"):
        d = p.wait_id(qid, user)
        assert d.body == content
        assert d.return_path == "<s@remote.example>"
    qid2 = p.send("s@remote.example", ["alice@example.test"], b"Subject: after\n\nx\n")
    p.wait_id(qid2, "alice")
    assert [d.queue_id for d in p.delivered("bob")] == [qid], "bob got a second copy"
    assert sorted(d.queue_id for d in p.delivered("alice")) == sorted([qid, qid2])


def test_unknown_user(postino):
    with postino.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250)
        c.command("RCPT TO:<nobody@example.test>", 550, "5.1.1")
        c.command("RCPT TO:<alice.x@example.test>", 550, "5.1.1")
        c.command("DATA", 554, "5.5.1")   # no valid recipients
        c.command("QUIT", 221)


RELAY_TARGETS = ["user@remote.example", "alice@remote.example", "user@[192.0.2.1]",
                 "user@EXAMPLE.test.remote.example"]


@pytest.mark.parametrize("rcpt", RELAY_TARGETS)
def test_relay_denied(postino, rcpt):
    with postino.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250)
        c.cmd(f"RCPT TO:<{rcpt}>")
        code, texts = c.reply()
        assert code in (554, 550) and texts[-1].startswith("5.7.1"), (code, texts)
        c.command("QUIT", 221)


def test_relay_allowed_from_network(postino_factory):
    p = postino_factory(config={"relay": {"networks": "127.0.0.0/8"}})
    with p.connect() as c:
        c.greet()
        qid = transaction(c, "s@remote.example", ["user@remote.example"],
                          b"Subject: relay\n\nout\n")
        c.command("QUIT", 221)
    # the test MX refuses connections: the message stays queued (deferred)
    p.wait_log(rf"{qid} {DEFERRED}")
    assert qid in os.listdir(p.spool / "msg"), "relayed message is not in the spool"


RELAY_TRICKS = [
    "user%remote.example@example.test",
    "remote.example!user@example.test",
    '"user@remote.example"@example.test',
    '"user%remote.example"@example.test',
    "@example.test:user@remote.example",
    "@example.test,@other.example:user@remote.example",
    "user@remote.example@example.test",
    "user%remote.example%example.test@example.test",
    '"alice@remote.example"@example.test',
]


@pytest.mark.parametrize("rcpt", RELAY_TRICKS)
def test_relay_tricks_refused(postino, rcpt):
    with postino.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250)
        c.cmd(f"RCPT TO:<{rcpt}>")
        code, texts = c.reply()
        assert code >= 500, f"RCPT TO:<{rcpt}> got {code} {texts}: open relay trick accepted"
        assert re.match(r"5\.\d+\.\d+", texts[-1]), texts
        c.command("QUIT", 221)
    assert "deliver.remote" not in postino.read_log()


def test_source_route_to_local_delivers_nothing_remote(postino_factory):
    """Even from a network that may relay, a source route through the local
    domain must not make postino relay to the route's final host."""
    p = postino_factory(config={"relay": {"networks": ""}})
    with p.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250)
        for rcpt in ("@example.test:user@remote.example",
                     "@mx.example.test:user@remote.example"):
            c.cmd(f"RCPT TO:<{rcpt}>")
            code, texts = c.reply()
            assert code >= 500, (rcpt, code, texts)
        c.command("QUIT", 221)


def test_sequential_transactions_one_connection(postino):
    with postino.connect() as c:
        c.greet()
        ids = [transaction(c, "s@remote.example", ["alice@example.test"],
                           f"Subject: n{i}\n\nmessage {i}\n".encode()) for i in range(5)]
        c.command("QUIT", 221)
    assert len(set(ids)) == 5, f"queue IDs are not unique: {ids}"
    for i, qid in enumerate(ids):
        assert postino.wait_id(qid, "alice").body == f"Subject: n{i}\n\nmessage {i}\n".encode()


def test_rset_drops_transaction(postino):
    with postino.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250)
        c.command("RCPT TO:<bob@example.test>", 250)
        c.command("RSET", 250, "2.0.0")
        qid = transaction(c, "s@remote.example", ["alice@example.test"], b"Subject: a\n\nx\n")
        c.command("QUIT", 221)
    postino.wait_id(qid, "alice")
    assert postino.maildir_files("bob") == []


def test_greeting_and_ehlo(postino):
    with postino.connect() as c:
        code, texts = c.reply()
        assert code == 220 and texts[0].startswith(HOSTNAME), texts
        c.cmd("EHLO client.example")
        code, texts = c.reply()
        assert code == 250 and texts[0].startswith(HOSTNAME)
        kw = {t.split()[0].upper() for t in texts[1:]}
        for want in ("PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES", "DSN",
                     "SMTPUTF8", "CHUNKING", "ETRN"):
            assert want in kw, f"EHLO does not list {want}: {texts}"
        assert "STARTTLS" not in kw and not any(k.startswith("AUTH") for k in kw), texts
        c.command("helo other.example", 250)
        c.command("quit", 221)
        assert c.closed()


@pytest.mark.parametrize("size", [65535, 65536, 65537, 131072, 5 * 1024 * 1024 + 3])
def test_large_message_exact(postino, size):
    """Sizes around the spool's and the reader's buffer boundaries."""
    body = b"Subject: big\n\n" + (b"z" * 77 + b"\n") * (size // 78)
    body += b"q" * (size - len(body) - 1) + b"\n"
    assert len(body) == size
    qid = postino.send("s@remote.example", ["alice@example.test"], body)
    d = postino.wait_id(qid, "alice")
    assert d.body == body, f"{size}-octet message stored as {len(d.body)} octets"
    check_maildir_name(d)


def test_second_local_domain(postino_factory):
    p = postino_factory(config={"domains": {"local": "example.test example.org"}},
                        users=["alice", "bob", "postmaster", "alice@example.org"])
    qid = p.send("s@remote.example", ["alice@example.org", "postmaster@example.org"],
                 b"Subject: org\n\nx\n")
    d = p.wait_id(qid, "alice", domain="example.org")
    assert d.delivered_to == "alice@example.org"
    # postmaster of every local domain goes where postmaster@<first domain> resolves
    p.wait_id(qid, "postmaster")
    assert p.maildir_files("alice") == []


def test_sender_forms_in_return_path(postino):
    cases = [('"john doe"@remote.example', "MAIL FROM:<\"john doe\"@remote.example>"),
             ("j\u00f6hn@r\u00e9mote.example", "MAIL FROM:<j\u00f6hn@r\u00e9mote.example> SMTPUTF8")]
    for want, mail in cases:
        with postino.connect() as c:
            c.greet()
            c.command(mail, 250)
            c.command("RCPT TO:<alice@example.test>", 250)
            c.command("DATA", 354)
            c.send(dot_stuff(b"Subject: s\n\nx\n"))
            qid = queue_id_of(c.expect(250, "2.0.0"))
            c.command("QUIT", 221)
        assert postino.wait_id(qid, "alice").return_path == f"<{want}>"


def test_duplicate_recipient_one_copy(postino_factory):
    """A mailbox named twice in one transaction (directly, in another case or
    through an alias) gets the message once, as MTAs do (Postfix, Exim,
    sendmail): a careful administrator expects no duplicates."""
    p = postino_factory(aliases={"team": ["alice@example.test", "bob@example.test"]})
    qid = p.send("s@remote.example",
                  ["alice@example.test", "ALICE@example.test", "team@example.test"],
                  b"Subject: dup\n\nonce\n")
    p.wait_id(qid, "alice")
    p.wait_id(qid, "bob")
    # a later message makes sure nothing trails behind
    qid2 = p.send("s@remote.example", ["alice@example.test"], b"Subject: after\n\nx\n")
    p.wait_id(qid2, "alice")
    ids = [d.queue_id for d in p.delivered("alice")]
    assert ids.count(qid) == 1, f"alice got {ids.count(qid)} copies of one message"


def test_alias_to_remote_target_queued(postino_factory):
    """An alias may point off-site: the recipient is local, so no relay
    permission is needed, and the copy is queued for remote delivery."""
    p = postino_factory(aliases={"fwd": ["someone@remote.example"]})
    qid = p.send("s@remote.example", ["fwd@example.test"], b"Subject: fwd\n\nx\n")
    p.wait_log(rf"{qid} {DEFERRED}")


def test_alias_loop_refused(postino_factory):
    p = postino_factory(aliases={"loop1": ["loop2@example.test"],
                                 "loop2": ["loop1@example.test"]})
    with p.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250)
        c.cmd("RCPT TO:<loop1@example.test>")
        code, texts = c.reply()
        assert code >= 500 and re.match(r"5\.\d+\.\d+", texts[-1]), (code, texts)
        c.command("QUIT", 221)


def test_queue_survives_restart(postino_factory):
    p = postino_factory(config={"relay": {"networks": "127.0.0.0/8"}})
    qid = p.send("s@remote.example", ["user@remote.example"], b"Subject: stay\n\nx\n")
    p.wait_log(rf"{qid} {DEFERRED}")
    p.restart()
    assert qid in os.listdir(p.spool / "msg")
    p.wait_log(rf"{qid} (queue\.recovered|{DEFERRED})", count=1)
