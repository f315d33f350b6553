"""Limits of SPEC.md: message size, recipients, command line length, the
error budget, timeouts, connection counts, free space, header section."""

import os
import socket
import struct
import time

from conftest import dot_stuff, queue_id_of, transaction, wait_for

SMALL = {"server": {"max_message_size": "10000", "max_recipients": "5"}}


def sentinel(p, user="alice"):
    """Send a marker message to user and wait for it: anything queued before
    it has had its chance to be delivered too."""
    qid = p.send("sentinel@remote.example", [f"{user}@example.test"], b"Subject: sentinel\n\ns\n")
    p.wait_id(qid, user)
    return qid


def open_tx(c, rcpts=("alice@example.test",), mail="MAIL FROM:<s@remote.example>"):
    c.command(mail, 250, "2.1.0")
    for r in rcpts:
        c.command(f"RCPT TO:<{r}>", 250, "2.1.5")
    c.command("DATA", 354)


def test_ehlo_advertises_size(postino_factory):
    p = postino_factory(config=SMALL)
    with p.connect() as c:
        texts = c.greet()
        assert "SIZE 10000" in texts, texts


def test_size_at_mail(postino_factory):
    p = postino_factory(config=SMALL)
    with p.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example> SIZE=10001", 552, "5.3.4")
        c.command("MAIL FROM:<s@remote.example> SIZE=10000", 250, "2.1.0")
        c.command("QUIT", 221)


def test_size_at_mail_20_digits(postino_factory):
    """RFC 1870: size-value is 1*20DIGIT; a 20-digit SIZE that fits 64 bits is valid
    and, being over the limit, gets 552 5.3.4 rather than a syntax error."""
    p = postino_factory(config=SMALL)
    with p.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example> SIZE=10000000000000000000", 552, "5.3.4")
        c.command("QUIT", 221)


def test_oversize_content_refused_after_dot(postino_factory):
    p = postino_factory(config=SMALL)
    big = b"Subject: big\n\n" + (b"x" * 99 + b"\n") * 101   # 10114 octets stored
    with p.connect() as c:
        c.greet()
        open_tx(c)
        c.send(dot_stuff(big))
        c.expect(552, "5.3.4")
        # the session goes on: a normal message still works
        qid = transaction(c, "s@remote.example", ["alice@example.test"], b"Subject: ok\n\nok\n")
        c.command("QUIT", 221)
    p.wait_id(qid, "alice")
    ids = [d.queue_id for d in p.delivered("alice")]
    assert ids == [qid], f"the over-size message was stored: {ids}"
    assert "smtp.accepted" in p.read_log()


def test_size_limit_boundary(postino_factory):
    """Exactly max_message_size octets as sent (CRLF line ends) is accepted;
    the limit counts the content after dot-unstuffing."""
    p = postino_factory(config=SMALL)
    head = b"Subject: exact\r\n\r\n"
    line = b"y" * 98 + b"\r\n"
    n = (10000 - len(head)) // len(line)
    pad = 10000 - len(head) - n * len(line)
    exact = head + line * n + b"z" * (pad - 2) + b"\r\n"
    assert len(exact) == 10000
    # many stuffed dots: 12000 octets on the wire, 9000 after unstuffing
    dots = b".\r\n" * 3000
    with p.connect() as c:
        c.greet()
        open_tx(c)
        c.send(dot_stuff(exact))
        q1 = queue_id_of(c.expect(250, "2.0.0"))
        open_tx(c)
        c.send(dot_stuff(dots))
        q2 = queue_id_of(c.expect(250, "2.0.0"))
        c.command("QUIT", 221)
    assert p.wait_id(q1, "alice").body == exact.replace(b"\r\n", b"\n")
    assert p.wait_id(q2, "alice").body == b".\n" * 3000


def test_max_recipients(postino_factory):
    p = postino_factory(config=SMALL)
    users = ["alice", "bob", "postmaster"]
    with p.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250)
        accepted = []
        for i in range(5):
            u = users[i % 3]
            c.command(f"RCPT TO:<{u}@example.test>", 250, "2.1.5")
            accepted.append(u)
        c.command("RCPT TO:<alice@example.test>", 452, "4.5.3")
        c.command("RCPT TO:<bob@example.test>", 452, "4.5.3")
        c.command("DATA", 354)
        c.send(dot_stuff(b"Subject: five\n\nx\n"))
        qid = queue_id_of(c.expect(250, "2.0.0"))
        c.command("QUIT", 221)
    for u in users:
        p.wait_id(qid, u)


def test_refused_recipients_do_not_count_as_errors(postino_factory):
    p = postino_factory(config={"limits": {"max_errors": "2"}})
    with p.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250)
        for i in range(6):
            c.command(f"RCPT TO:<nobody{i}@example.test>", 550, "5.1.1")
            c.command(f"RCPT TO:<x{i}@remote.example>", 554, "5.7.1")
        c.command("RCPT TO:<alice@example.test>", 250)
        c.command("NOOP", 250)
        c.command("QUIT", 221)


def test_command_line_513_octets(postino):
    with postino.connect() as c:
        c.greet()
        tail = b"MAIL FROM:<evil@remote.example>"
        line = b"NOOP " + b"x" * (513 - 2 - 5 - len(tail)) + tail + b"\r\n"
        assert len(line) == 513
        c.send(line)
        c.expect(500, "5.5.2")
        # the tail of the long line never ran: there is no transaction
        c.command("RCPT TO:<alice@example.test>", 503, "5.5.1")
        # and exactly 512 octets is fine
        ok = b"NOOP " + b"y" * (512 - 2 - 5) + b"\r\n"
        assert len(ok) == 512
        c.send(ok)
        c.expect(250)
        # a very long line arriving in pieces is still one refused line
        c.send(b"NOOP " + b"z" * 30000)
        time.sleep(0.05)
        c.send(b"z" * 30000 + b"\r\nQUIT\r\n")
        c.expect(500, "5.5.2")
        c.expect(221)
        assert c.closed()


def test_mail_line_2048_octets(postino):
    """RFC 3461 raises MAIL and RCPT lines to 2048 octets (SPEC)."""
    def line(verb, params, total):
        pad = total - 2 - len(verb) - len(params)
        return verb + b" " + params + b" " * (pad - 1) + b"\r\n"   # trailing blanks

    with postino.connect() as c:
        c.greet()
        mail = b"MAIL FROM:<s@remote.example>"
        envid = b"ENVID=" + b"e" * 100
        c.send(line(mail, envid, 2048))
        c.expect(250, "2.1.0")
        rcpt = b"RCPT TO:<alice@example.test>"
        orcpt = b"NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice@example.test"
        c.send(line(rcpt, orcpt, 2048))
        c.expect(250, "2.1.5")
        c.send(line(rcpt, orcpt, 2049))
        c.expect(500, "5.5.2")
        c.command("RSET", 250)
        c.send(line(mail, envid, 2049))
        c.expect(500, "5.5.2")
        # the 512-octet limit still holds for other commands
        c.send(line(b"NOOP", b"x", 513))
        c.expect(500, "5.5.2")
        c.command("QUIT", 221)


def test_max_errors(postino_factory):
    p = postino_factory(config={"limits": {"max_errors": "3"}})
    with p.connect() as c:
        c.greet()
        c.command("BOGUS", 500, "5.5.2")
        c.command("RCPT TO:<alice@example.test>", 503, "5.5.1")   # out of sequence
        c.command("MAIL FROM:alice", 501)                          # syntax
        c.cmd("NOPE")
        c.expect(421, "4.7.0")
        assert c.closed(), "server did not close after 421"


def test_command_timeout(postino_factory):
    p = postino_factory(config={"limits": {"command_timeout": "1s"}})
    with p.connect(timeout=10) as c:
        c.greet()
        start = time.monotonic()
        c.expect(421, "4.4.2", timeout=10)
        waited = time.monotonic() - start
        assert c.closed(), "server did not close after the timeout"
    assert 0.5 <= waited <= 8, f"timeout after {waited:.1f}s, configured 1s"
    # idle inside a transaction too
    with p.connect(timeout=10) as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250)
        c.expect(421, "4.4.2", timeout=10)
        assert c.closed()


def test_command_timeout_not_hit_while_active(postino_factory):
    p = postino_factory(config={"limits": {"command_timeout": "1s"}})
    with p.connect(timeout=10) as c:
        c.greet()
        for _ in range(6):
            time.sleep(0.4)
            c.command("NOOP", 250)
        c.command("QUIT", 221)


def _limit_test(p, allowed):
    conns = []
    try:
        for _ in range(allowed):
            c = p.connect()
            conns.append(c)
            c.expect(220)
        extra = p.connect()
        conns.append(extra)
        extra.expect(421, "4.7.0")
        assert extra.closed(), "over-limit connection was not closed"
        # the admitted ones still work
        for c in conns[:allowed]:
            c.command("NOOP", 250)
        # after one leaves, a new connection is admitted again
        conns[0].command("QUIT", 221)
        assert conns[0].closed()

        def admitted():
            with p.connect() as c:
                code, texts = c.reply()
                return code == 220
        deadline = time.monotonic() + 10
        while not admitted():
            assert time.monotonic() < deadline, "no connection admitted after one closed"
            time.sleep(0.1)
    finally:
        for c in conns:
            c.close()


def test_max_connections_per_ip(postino_factory):
    p = postino_factory(config={"limits": {"max_connections_per_ip": "2"}})
    _limit_test(p, 2)


def test_max_connections(postino_factory):
    p = postino_factory(config={"limits": {"max_connections": "3"}})
    _limit_test(p, 3)


def test_min_free_space(postino_factory):
    p = postino_factory(config={"limits": {"min_free_space": "100000G"}})
    with p.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 452, "4.3.1")
        c.command("QUIT", 221)


def header_lines(n):
    return b"".join(b"X-H%d: v\n" % i for i in range(n))


def test_header_lines_limit(postino):
    with postino.connect() as c:
        c.greet()
        open_tx(c)
        c.send(dot_stuff(header_lines(10001) + b"\nbody\n"))
        c.expect(552, "5.3.4")
        # a header section without a body counts the same
        open_tx(c)
        c.send(dot_stuff(header_lines(10001)))
        c.expect(552, "5.3.4")
        # 10,000 header lines are allowed
        open_tx(c)
        ok = header_lines(10000) + b"\nbody\n"
        c.send(dot_stuff(ok))
        qid = queue_id_of(c.expect(250, "2.0.0"))
        c.command("QUIT", 221)
    assert postino.wait_id(qid, "alice").body == ok
    assert [d.queue_id for d in postino.delivered("alice")] == [qid]


def test_header_section_over_1mib(postino):
    # 1,100 lines of 1,000 octets (folded continuation lines): 1.1 MB, under 10,000 lines
    hdr = b"X-Big: start\n" + b"".join(b" " + b"h" * 998 + b"\n" for _ in range(1100))
    with postino.connect() as c:
        c.greet()
        open_tx(c)
        c.send(dot_stuff(hdr + b"\nbody\n"))
        c.expect(552, "5.3.4")
        # the same octets in the body are fine
        open_tx(c)
        ok = b"Subject: big body\n\n" + hdr
        c.send(dot_stuff(ok))
        qid = queue_id_of(c.expect(250, "2.0.0"))
        c.command("QUIT", 221)
    assert postino.wait_id(qid, "alice").body == ok


def test_data_timeout(postino_factory):
    p = postino_factory(config={"limits": {"data_timeout": "1s", "command_timeout": "30s"}})
    with p.connect(timeout=15) as c:
        c.greet()
        open_tx(c)
        c.send(b"Subject: stalled\r\n\r\npartial")
        code, texts = c.reply(timeout=15)
        assert code == 421 and texts[-1].startswith("4.4.2"), (code, texts)
        assert c.closed()
    sentinel(p, "bob")
    assert p.maildir_files("alice") == [], "a timed-out message was delivered"


def test_aborted_sessions_release_everything(postino_factory):
    """Clients that vanish (RST) after MAIL or inside DATA leave nothing in
    the spool and give their connection slot back."""
    p = postino_factory(config={"limits": {"max_connections_per_ip": "2"}})
    for i in range(10):
        c = p.connect()
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250)
        if i % 2:
            c.command("RCPT TO:<alice@example.test>", 250)
            c.command("DATA", 354)
            c.send(b"Subject: partial\r\n\r\nnever finished")
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    # an unfinished message's file (in msg/, header still zeros) goes when
    # the session sees the reset
    spool_tmp, spool_msg = p.spool / "tmp", p.spool / "msg"
    wait_for(lambda: os.listdir(spool_tmp) == [] and os.listdir(spool_msg) == [], timeout=10,
             what=f"spool tmp/ and msg/ to be emptied (hold {os.listdir(spool_tmp)}, "
                  f"{os.listdir(spool_msg)})")

    def two_admitted():
        a, b = p.connect(), p.connect()
        try:
            return a.reply()[0] == 220 and b.reply()[0] == 220
        finally:
            a.close()
            b.close()
    wait_for(two_admitted, timeout=10, interval=0.2, what="connection slots released")
    sentinel(p)
    assert [d.return_path for d in p.delivered("alice")] == ["<sentinel@remote.example>"]


def test_bdat_over_size(postino_factory):
    """BDAT counts against max_message_size too; the refused chunk's octets
    are consumed as data, never run as commands."""
    p = postino_factory(config=SMALL)
    with p.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250)
        c.command("RCPT TO:<alice@example.test>", 250)
        chunk = b"RCPT TO:<bob@example.test>\r\n" * 400   # 11200 octets
        c.send(f"BDAT {len(chunk)} LAST\r\n".encode() + chunk)
        c.expect(552, "5.3.4")
        c.command("NOOP", 250)
        # over the limit only with the second chunk
        c.command("MAIL FROM:<s@remote.example>", 250)
        c.command("RCPT TO:<alice@example.test>", 250)
        c.send(b"BDAT 6000\r\n" + b"y" * 6000)
        c.expect(250)
        c.send(b"BDAT 6000 LAST\r\n" + b"y" * 5998 + b"\r\n")
        c.expect(552, "5.3.4")
        c.command("QUIT", 221)
    sentinel(p, "postmaster")
    assert p.maildir_files("alice") == [] and p.maildir_files("bob") == []
