"""Many sessions at once: every message delivered once per recipient, byte
for byte."""

import random
import threading

from conftest import Conn, transaction, wait_for

SESSIONS = 50
PER_SESSION = 10
USERS = ("alice", "bob", "postmaster")


def make_content(n, i):
    rnd = random.Random(n * 1000 + i)
    lines = [f"Subject: session {n} message {i}", f"X-Seq: {n}.{i}", ""]
    for k in range(rnd.randint(1, 80)):
        kind = rnd.random()
        if kind < 0.1:
            lines.append("." * rnd.randint(1, 3) + f" dot line {k}")
        elif kind < 0.15:
            lines.append("L" * rnd.randint(990, 3000))
        elif kind < 0.2:
            lines.append("")
        else:
            lines.append(f"{n}.{i}.{k} " + "".join(rnd.choice("abcdefgh ") for _ in range(70)))
    return ("\n".join(lines) + "\n").encode()


def test_concurrent_sessions(postino_factory):
    p = postino_factory(config={"limits": {"max_connections_per_ip": str(SESSIONS + 10)}})
    sent = {}      # queue id -> (content, [users])
    errors = []
    lock = threading.Lock()
    start = threading.Barrier(SESSIONS)

    def session(n):
        try:
            start.wait(30)
            with Conn(p.port, timeout=60) as c:
                c.greet(f"client{n}.example")
                for i in range(PER_SESSION):
                    users = [USERS[(n + i) % 3]]
                    if i % 5 == 4:
                        users.append(USERS[(n + i + 1) % 3])
                    content = make_content(n, i)
                    qid = transaction(c, f"s{n}@remote.example",
                                      [f"{u}@example.test" for u in users], content)
                    with lock:
                        assert qid not in sent, f"queue ID {qid} given twice"
                        sent[qid] = (content, users)
                c.command("QUIT", 221)
        except Exception as e:   # reported below, with the session number
            with lock:
                errors.append(f"session {n}: {e!r}")

    threads = [threading.Thread(target=session, args=(n,), daemon=True) for n in range(SESSIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert not any(t.is_alive() for t in threads), "sessions still running after 180 s"
    assert not errors, "\n".join(errors[:10])
    assert len(sent) == SESSIONS * PER_SESSION

    want_files = sum(len(u) for _, u in sent.values())

    def count():
        return sum(len(p.maildir_files(u)) for u in USERS)
    wait_for(lambda: count() >= want_files, timeout=120,
             what=f"{want_files} delivered files (have {count()})")
    seen = {}
    for u in USERS:
        for d in p.delivered(u):
            assert d.queue_id in sent, f"{d.path}: unknown queue ID {d.queue_id}"
            content, users = sent[d.queue_id]
            assert u in users, f"{d.queue_id} delivered to {u}, sent to {users}"
            assert d.body == content, f"{d.path}: content differs for {d.queue_id}"
            assert d.return_path.startswith("<s") and d.return_path.endswith("@remote.example>")
            key = (d.queue_id, u)
            assert key not in seen, f"{d.queue_id} delivered twice to {u}"
            seen[key] = d
    assert len(seen) == want_files
