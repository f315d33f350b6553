"""Play every tests/dialog/*.txt conversation over TCP against the real daemon
(tests/dialog/README.md describes the format and the owner's rules)."""

import re

import pytest

from conftest import REPO, escape_decode, send_message, wait_for

DIALOGS = sorted((REPO / "tests" / "dialog").glob("*.txt"))

# The owner rules of tests/dialog/README.md.
DIALOG_CONFIG = {
    "server": {"max_message_size": "10000", "max_recipients": "5"},
    "limits": {"max_errors": "10"},
}

QUEUED = re.compile(rb"^250 2\.0\.0 Ok: queued as ([0-9A-Z]+)")


def parse(path):
    """[(lineno, kind, text)] of a dialog file; comments and blank lines dropped."""
    steps = []
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if line.endswith("\r"):
            line = line[:-1]
        if not line or line.startswith("#"):
            continue
        kind = line[:2]
        if kind not in ("C:", "R:", "S:", "M:", "N:"):
            raise AssertionError(f"{path.name}:{n}: unknown line kind {line[:20]!r}")
        text = line[3:] if line[2:3] == " " else line[2:]
        steps.append((n, kind, text))
    return steps


def stored_by_id(p, qid):
    """Every delivered copy of queue ID qid, in any Maildir."""
    return [d for d in p.all_delivered() if d.queue_id == qid]


def test_corpus_present():
    assert DIALOGS, "tests/dialog/*.txt is empty"


@pytest.mark.parametrize("path", DIALOGS, ids=[p.stem for p in DIALOGS])
def test_dialog(postino_factory, path):
    p = postino_factory(config=DIALOG_CONFIG)
    steps = parse(path)
    queued = []
    last_qid = None
    last_reply = b""
    where = path.name
    with p.connect() as c:
        for n, kind, text in steps:
            where = f"{path.name}:{n}"
            if kind == "C:":
                c.send(text.encode("utf-8") + b"\r\n")
            elif kind == "R:":
                c.send(escape_decode(text))
            elif kind == "S:":
                try:
                    got = c.line()
                except AssertionError as e:
                    raise AssertionError(f"{where}: want a reply starting {text!r}: {e}")
                want = text.encode("utf-8")
                assert got.startswith(want), f"{where}: got {got!r}, want prefix {want!r}"
                last_reply = got
                m = QUEUED.match(got)
                if m:
                    last_qid = m.group(1).decode()
                    queued.append(last_qid)
            elif kind == "M:":
                assert last_qid, f"{where}: M: without an accepted message before it"
                want = escape_decode(text)
                qid = last_qid
                copies = wait_for(lambda: stored_by_id(p, qid),
                                  what=f"{where}: delivery of {qid}")
                for d in copies:
                    assert d.body == want, (
                        f"{where}: stored message {d.path} differs:\n"
                        f" got  {d.body[:300]!r} ({len(d.body)} octets)\n"
                        f" want {want[:300]!r} ({len(want)} octets)")
            elif kind == "N:":
                assert len(queued) == int(text), (
                    f"{where}: {len(queued)} messages accepted so far, want {text}")
        # A dialog that ends with 221 or 421 must see the server close.
        if last_reply[:3] in (b"221", b"421"):
            assert c.closed(), f"{path.name}: server did not close after {last_reply!r}"

    # Nothing beyond what was acknowledged may ever be stored: wait for every
    # acknowledged message, then for a sentinel sent afterwards, and compare.
    for qid in queued:
        wait_for(lambda: stored_by_id(p, qid), what=f"{path.name}: delivery of {qid}")
    sentinel = send_message(p.port, "sentinel@remote.example", ["postmaster@example.test"],
                            b"Subject: sentinel\n\nsentinel\n")
    wait_for(lambda: stored_by_id(p, sentinel), what="delivery of the sentinel")
    ids = {d.queue_id for d in p.all_delivered()}
    assert ids == set(queued) | {sentinel}, (
        f"{path.name}: delivered queue IDs {sorted(ids)}, acknowledged {sorted(queued)} "
        f"+ sentinel {sentinel}")
