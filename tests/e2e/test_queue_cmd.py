"""`postino queue` (issue 5): list, show, hold, release, delete and flush on
a queue holding deferred remote mail (the test MX refuses connections)."""

import json
import subprocess

from conftest import DEFERRED, POSTINO_BIN, wait_for


def queue(p, *args):
    r = subprocess.run([str(POSTINO_BIN), "queue", "-c", str(p.conf), *args],
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def deferred(postino_factory):
    p = postino_factory(config={"relay": {"networks": "127.0.0.0/8"}})
    ids = [p.send("s@example.test", [f"u{i}@remote.example"], f"Subject: q{i}\n\nbody {i}\n".encode())
           for i in range(2)]
    for q in ids:
        p.wait_log(rf"{q} {DEFERRED}")
    return p, ids


def test_list_and_show(postino_factory):
    p, ids = deferred(postino_factory)
    rc, out, err = queue(p, "list")
    assert rc == 0, err
    for q in ids:
        assert q in out
    assert "u0@remote.example  pending" in out and "attempts=1" in out
    rc, out, err = queue(p, "list", "--json")
    assert rc == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert sorted(r["id"] for r in rows) == sorted(ids)
    r0 = [r for r in rows if r["id"] == ids[0]][0]
    assert r0["sender"] == "s@example.test"
    assert r0["recipients"][0]["state"] == "pending"
    assert r0["recipients"][0]["attempts"] >= 1
    assert "connect" in r0["recipients"][0]["last_reply"]
    rc, out, err = queue(p, "show", ids[0])
    assert rc == 0, err
    assert "u0@remote.example" in out and "body 0" in out and "Subject: q0" in out


def test_hold_release_delete_flush(postino_factory):
    p, ids = deferred(postino_factory)
    rc, out, err = queue(p, "hold", ids[0])
    assert rc == 0 and "held" in out, err
    rc, out, err = queue(p, "list")
    assert "(held)" in out
    # held survives a restart
    assert p.stop() == 0
    p.start()
    rc, out, err = queue(p, "list", "--json")
    held = {json.loads(line)["id"]: json.loads(line)["held"] for line in out.splitlines()}
    assert held == {ids[0]: True, ids[1]: False}
    # flush tries the others at once; the held one is not tried
    log_before = p.read_log().count(f"{ids[0]} deliver.remote")
    rc, out, err = queue(p, "flush")
    assert rc == 0, err
    p.wait_log(rf"{ids[1]} {DEFERRED}", count=2)
    assert p.read_log().count(f"{ids[0]} deliver.remote") == log_before
    rc, out, err = queue(p, "release", ids[0])
    assert rc == 0, err
    p.wait_log(rf"{ids[0]} {DEFERRED}", count=2)
    rc, out, err = queue(p, "delete", ids[1])
    assert rc == 0 and "deleted" in out, err
    rc, out, err = queue(p, "list")
    assert ids[1] not in out and ids[0] in out
    assert not (p.spool / "msg" / ids[1]).exists()


def test_errors(postino_factory):
    p, ids = deferred(postino_factory)
    rc, out, err = queue(p, "show", "0000000000000000")
    assert rc == 1 and "unknown queue ID" in err
    rc, out, err = queue(p, "delete", "0000000000000000", ids[0])
    assert rc == 1 and "unknown queue ID" in err and "deleted" in err
    rc, out, err = queue(p, "frobnicate")
    assert rc == 1
    assert p.stop() == 0
    rc, out, err = queue(p, "list")
    assert rc == 2 and "not running" in err
