"""SMTP smuggling (SPEC: DATA ends only on <CRLF>.<CRLF>). Every variant
carries a second, smuggled transaction to bob inside the content; it must
never become a message, and the replies must be the ones SPEC promises."""

import time

import pytest

from conftest import queue_id_of

SMUGGLED = (b"MAIL FROM:<evil@remote.example>\r\n"
            b"RCPT TO:<bob@example.test>\r\n"
            b"DATA\r\n"
            b"Subject: smuggled\r\n\r\nsmuggled\r\n")

# name: (fake end-of-data sequence, reply to the real final dot)
VARIANTS = {
    "LF.LF": (b"\n.\n", 250),
    "CR.CR": (b"\r.\r", 550),
    "LF.CRLF": (b"\n.\r\n", 250),
    "CR.LF": (b"\r.\n", 550),
    "CRLF.LF": (b"\r\n.\n", 250),
    "CRLF.CR": (b"\r\n.\r", 550),
    "LF.CR": (b"\n.\r", 550),
    "CR.CRLF": (b"\r.\r\n", 550),
    "CRLF.CRCRLF": (b"\r\n.\r\r\n", 550),
    "NUL": (b"\r\n.\0\r\n", 550),
    "NUL_in_line": (b"\r\nnul\0byte\r\n", 550),
}


def expected_store(prefix, fake, tail):
    """What a 250 variant stores: bare LF is a line end, CRLF becomes LF,
    and a line holding one dot (no CRLF before it) is kept as it is."""
    return (prefix + fake + tail).replace(b"\r\n", b"\n")


def run_session(p, payload):
    """MAIL/RCPT alice/DATA, the payload ending in CRLF.CRLF, then QUIT.
    Returns every reply after the 354, in order."""
    replies = []
    with p.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250)
        c.command("RCPT TO:<alice@example.test>", 250)
        c.command("DATA", 354)
        c.send(payload + b".\r\nQUIT\r\n")
        while True:
            code, texts = c.reply()
            replies.append((code, texts))
            if code in (221, 421):
                break
        assert c.closed()
    return replies


def settle(p):
    """A sentinel through the whole path: anything queued before it has been
    delivered by the time it arrives in postmaster's Maildir."""
    qid = p.send("sentinel@remote.example", ["postmaster@example.test"], b"Subject: s\n\ns\n")
    p.wait_id(qid, "postmaster")


@pytest.mark.parametrize("name", list(VARIANTS), ids=list(VARIANTS))
def test_smuggling_variant(postino, name):
    fake, want = VARIANTS[name]
    prefix = b"Subject: carrier\r\n\r\ncarrier"
    payload = prefix + fake + SMUGGLED
    replies = run_session(postino, payload)
    codes = [code for code, _ in replies]
    assert codes == [want, 221], f"replies after DATA: {replies}"
    if want == 550:
        assert replies[0][1][-1].startswith("5.6.0"), replies
    settle(postino)
    assert postino.maildir_files("bob") == [], "a smuggled message reached bob"
    alice = postino.delivered("alice")
    if want == 250:
        qid = queue_id_of(replies[0][1])
        assert [d.queue_id for d in alice] == [qid]
        assert alice[0].body == expected_store(prefix, fake, SMUGGLED)
    else:
        assert alice == [], "a refused message was stored"
    assert "from=<evil@remote.example>" not in postino.read_log(), (
        "the smuggled MAIL FROM reached the command parser")


def test_smuggling_in_bdat(postino):
    """BDAT content is opaque: a CRLF.CRLF inside a chunk ends nothing."""
    chunk = b"Subject: carrier\r\n\r\ncarrier\r\n.\r\n" + SMUGGLED + b".\r\n"
    with postino.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250)
        c.command("RCPT TO:<alice@example.test>", 250)
        c.send(f"BDAT {len(chunk)} LAST\r\n".encode() + chunk)
        qid = queue_id_of(c.expect(250, "2.0.0"))
        c.command("QUIT", 221)
    settle(postino)
    assert postino.maildir_files("bob") == []
    [d] = postino.delivered("alice")
    assert d.queue_id == qid
    assert d.body == chunk.replace(b"\r\n", b"\n")


@pytest.mark.parametrize("bad", [b"a\rb", b"nul\0"], ids=["bare_CR", "NUL"])
def test_bdat_bad_bytes(postino, bad):
    chunk = b"Subject: x\r\n\r\n" + bad + b"\r\n"
    with postino.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250)
        c.command("RCPT TO:<alice@example.test>", 250)
        c.send(f"BDAT {len(chunk)}\r\n".encode() + chunk)
        c.expect(250)
        c.command("BDAT 0 LAST", 550, "5.6.0")
        c.command("QUIT", 221)
    settle(postino)
    assert postino.maildir_files("alice") == []


def test_terminator_split_across_segments(postino):
    """A real <CRLF>.<CRLF> split over several TCP segments still ends DATA,
    and a dot line split the same way does not."""
    with postino.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250)
        c.command("RCPT TO:<alice@example.test>", 250)
        c.command("DATA", 354)
        for piece in (b"Subject: split\r\n\r\nbody\r", b"\n", b".", b".x\r", b"\n.", b"\r",
                      b"\n"):
            c.send(piece)
            time.sleep(0.02)
        qid = queue_id_of(c.expect(250, "2.0.0"))
        c.command("QUIT", 221)
    assert postino.wait_id(qid, "alice").body == b"Subject: split\n\nbody\n.x\n"


def test_commands_inside_data_not_executed(postino):
    """Inside DATA, 'QUIT' and friends are plain text."""
    content = b"Subject: t\r\n\r\nQUIT\r\nRSET\r\nMAIL FROM:<x@y>\r\n"
    with postino.connect() as c:
        c.greet()
        c.command("MAIL FROM:<s@remote.example>", 250)
        c.command("RCPT TO:<alice@example.test>", 250)
        c.command("DATA", 354)
        c.send(content + b".\r\n")
        qid = queue_id_of(c.expect(250, "2.0.0"))
        c.command("NOOP", 250)
        c.command("QUIT", 221)
    assert postino.wait_id(qid, "alice").body == content.replace(b"\r\n", b"\n")
