"""PIPELINING (RFC 2920) and CHUNKING over real TCP: commands sent in one
write are answered in order, and the message arrives intact."""

from conftest import dot_stuff, queue_id_of


def test_whole_transaction_in_one_write(postino):
    content = b"Subject: pipelined\n\n.dot\nbody\n"
    with postino.connect() as c:
        c.expect(220)
        c.send(b"EHLO client.example\r\n"
               b"MAIL FROM:<s@remote.example>\r\n"
               b"RCPT TO:<alice@example.test>\r\n"
               b"RCPT TO:<nobody@example.test>\r\n"
               b"RCPT TO:<bob@example.test>\r\n"
               b"DATA\r\n")
        code, ehlo = c.reply()
        assert code == 250 and any(t.upper() == "PIPELINING" for t in ehlo), ehlo
        c.expect(250, "2.1.0")
        c.expect(250, "2.1.5")
        c.expect(550, "5.1.1")
        c.expect(250, "2.1.5")
        c.expect(354)
        c.send(dot_stuff(content) + b"QUIT\r\n")
        qid = queue_id_of(c.expect(250, "2.0.0"))
        c.expect(221)
        assert c.closed()
    for user in ("alice", "bob"):
        d = postino.wait_id(qid, user)
        assert d.body == content
    assert postino.maildir_files("nobody") == []


def test_two_transactions_pipelined(postino):
    """The second transaction's commands follow the first dot in the same write."""
    with postino.connect() as c:
        c.expect(220)
        c.send(b"EHLO c\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.test>\r\n"
               b"DATA\r\n")
        c.expect(250)
        c.expect(250, "2.1.0")
        c.expect(250, "2.1.5")
        c.expect(354)
        c.send(b"Subject: one\r\n\r\nfirst\r\n.\r\n"
               b"MAIL FROM:<b@remote.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        q1 = queue_id_of(c.expect(250, "2.0.0"))
        c.expect(250, "2.1.0")
        c.expect(250, "2.1.5")
        c.expect(354)
        c.send(b"Subject: two\r\n\r\nsecond\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n")
        q2 = queue_id_of(c.expect(250, "2.0.0"))
        c.expect(250, "2.0.0")
        c.expect(250, "2.0.0")
        c.expect(221)
    assert q1 != q2
    d1 = postino.wait_id(q1, "alice")
    d2 = postino.wait_id(q2, "bob")
    assert d1.return_path == "<a@remote.example>" and d1.body == b"Subject: one\n\nfirst\n"
    assert d2.return_path == "<b@remote.example>" and d2.body == b"Subject: two\n\nsecond\n"
    assert [d.queue_id for d in postino.delivered("alice")] == [q1]
    assert [d.queue_id for d in postino.delivered("bob")] == [q2]


def test_bdat_everything_in_one_write(postino):
    """With CHUNKING nothing needs to wait: the whole session in one write."""
    chunk = b"Subject: bdat\r\n\r\nchunked\r\n.\r\nstill content\r\n"
    with postino.connect() as c:
        c.expect(220)
        c.send(b"EHLO c\r\nMAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.test>\r\n"
               + f"BDAT {len(chunk)} LAST\r\n".encode() + chunk + b"QUIT\r\n")
        c.expect(250)
        c.expect(250, "2.1.0")
        c.expect(250, "2.1.5")
        qid = queue_id_of(c.expect(250, "2.0.0"))
        c.expect(221)
    d = postino.wait_id(qid, "alice")
    assert d.body == b"Subject: bdat\n\nchunked\n.\nstill content\n"


def test_byte_at_a_time(postino):
    """Replies do not depend on how the client's bytes are split into segments."""
    import time
    content = b"Subject: slow\n\n.x\nslow\n"
    script = (b"EHLO c\r\nMAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.test>\r\n"
              b"DATA\r\n")
    with postino.connect() as c:
        c.expect(220)
        for i in range(len(script)):
            c.send(script[i:i + 1])
            time.sleep(0.001)
        c.expect(250)
        c.expect(250, "2.1.0")
        c.expect(250, "2.1.5")
        c.expect(354)
        wire = dot_stuff(content)
        for i in range(len(wire)):
            c.send(wire[i:i + 1])
            time.sleep(0.001)
        qid = queue_id_of(c.expect(250, "2.0.0"))
        c.command("QUIT", 221)
    assert postino.wait_id(qid, "alice").body == content


def test_half_close_after_pipelined_quit(postino):
    """A client that sends everything through QUIT and then shuts down its
    side (as `sendmail -bs` fed from a file may) still gets its message
    accepted and every reply."""
    import socket
    s = socket.create_connection(("127.0.0.1", postino.port), timeout=15)
    s.sendall(b"EHLO c\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.test>\r\n"
              b"DATA\r\nSubject: half\r\n\r\nclosed\r\n.\r\nQUIT\r\n")
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    assert b"354 " in data and b"250 2.0.0 Ok: queued as" in data, data
    assert data.rstrip().endswith(b"221 2.0.0 Bye"), data
    [d] = postino.wait_delivered("alice")
    assert d.body == b"Subject: half\n\nclosed\n"
