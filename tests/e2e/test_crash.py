"""Crash safety (SPEC: a 250 after the final dot survives SIGKILL the next
instant) and recovery of a damaged spool."""

import hashlib
import os
import re
import smtplib
import threading

from conftest import DEFERRED, IO_TIMEOUT, Delivered, queue_id_of, wait_for

N_SESSIONS = 20
PER_SESSION = 10
TOTAL = N_SESSIONS * PER_SESSION
RECIPIENTS = ("alice", "bob")


def make_message(token):
    """A message whose body is derived from its token, so a file in new/ can be
    checked for completeness; sizes vary from about 1 KB to 60 KB."""
    n = int(hashlib.sha256(token.encode()).hexdigest()[:4], 16) % 60 + 1
    lines = [f"Subject: crash {token}", f"X-Token: {token}", ""]
    for i in range(n):
        lines.append(f"{token} line {i:04d} " + "x" * 1000)
    lines.append(f"end {token}")
    return ("\n".join(lines) + "\n").encode()


def wire(content):
    """smtplib sends bytes as they are: give it CRLF line ends."""
    return content.replace(b"\n", b"\r\n")


def token_of(d):
    m = re.search(rb"^X-Token: (\S+)$", d.body, re.M)
    return m.group(1).decode() if m else None


class Load:
    """N_SESSIONS threads sending PER_SESSION messages each; acked maps each
    token that got its 250 to (queue id, recipient)."""

    def __init__(self, p):
        self.p = p
        self.acked, self.attempted, self.errors = {}, {}, []
        self.lock = threading.Lock()
        self.half = threading.Event()
        self.threads = [threading.Thread(target=self.session, args=(n,), daemon=True)
                        for n in range(N_SESSIONS)]
        for t in self.threads:
            t.start()

    def session(self, n):
        try:
            s = smtplib.SMTP("127.0.0.1", self.p.port, timeout=IO_TIMEOUT)
            s.ehlo("client.example")
        except (OSError, smtplib.SMTPException) as e:
            with self.lock:
                self.errors.append(f"session {n}: connect: {e!r}")
            return
        try:
            for i in range(PER_SESSION):
                token = f"T{n:02d}x{i:02d}"
                rcpt = RECIPIENTS[(n + i) % 2]
                with self.lock:
                    self.attempted[token] = rcpt
                if (s.mail("sender@remote.example")[0] != 250 or
                        s.rcpt(f"{rcpt}@example.test")[0] != 250):
                    return
                code, text = s.data(wire(make_message(token)))
                if code != 250:
                    return
                with self.lock:
                    self.acked[token] = (queue_id_of([text.decode()]), rcpt)
                    if len(self.acked) >= TOTAL // 2:
                        self.half.set()
        except (OSError, smtplib.SMTPException):
            pass   # the daemon went away under us
        finally:
            try:
                s.close()
            except OSError:
                pass

    def join(self):
        for t in self.threads:
            t.join(IO_TIMEOUT + 5)
        assert not any(t.is_alive() for t in self.threads), "client threads hang"


def test_sigkill_under_load(postino_factory):
    p = postino_factory(config={"limits": {"max_connections_per_ip": "200"}})
    load = Load(p)
    acked, attempted, errors, lock, half = (load.acked, load.attempted, load.errors, load.lock,
                                            load.half)
    threads = load.threads
    assert half.wait(120), f"only {len(acked)} messages acknowledged in 120 s: {errors}"
    p.kill9()
    with lock:
        acked_at_kill = dict(acked)
    for t in threads:
        t.join(IO_TIMEOUT + 5)
    assert not any(t.is_alive() for t in threads), "client threads hang after the kill"
    assert not errors, errors
    assert len(acked_at_kill) < TOTAL, "the kill came too late: every message was acknowledged"
    acked_final = dict(acked)   # 250s read just before the connection died count too

    p.start()

    def delivered_tokens():
        out = {}
        for user in RECIPIENTS:
            for path in p.maildir_files(user):
                d = Delivered(path)
                out.setdefault(token_of(d), []).append((user, d))
        return out

    def all_acked_there():
        got = delivered_tokens()
        missing = [t for t in acked_final if t not in got]
        return not missing
    try:
        wait_for(all_acked_there, timeout=60, what="every acknowledged message delivered")
    except AssertionError:
        got = delivered_tokens()
        missing = sorted(t for t in acked_final if t not in got)
        raise AssertionError(f"{len(missing)} acknowledged messages lost after SIGKILL: "
                             f"{missing[:20]} (queue IDs "
                             f"{[acked_final[t][0] for t in missing[:20]]})")

    got = delivered_tokens()
    duplicates = 0
    for token, copies in got.items():
        assert token in attempted, f"a message nobody sent: {copies}"
        for user, d in copies:
            assert user == attempted[token], f"{token} delivered to {user}"
            assert d.body == make_message(token), (
                f"{d.path}: incomplete or damaged content for {token} "
                f"({len(d.body)} octets, want {len(make_message(token))})")
        duplicates += len(copies) - 1
    for token, (qid, user) in acked_final.items():
        assert got[token][0][1].queue_id == qid, f"{token}: queue ID differs"
    # tmp/ leftovers must not be visible in new/
    leftovers = 0
    for user in RECIPIENTS:
        tmp_names = {x.name for x in p.maildir_files(user, sub="tmp")}
        new_names = {x.name for x in p.maildir_files(user)}
        leftovers += len(tmp_names)
        assert not (tmp_names & new_names), f"tmp/ and new/ share {tmp_names & new_names}"
    unacked_delivered = sum(1 for t in got if t not in acked_final)
    print(f"\ncrash: attempted={len(attempted)} acked_at_kill={len(acked_at_kill)} "
          f"acked={len(acked_final)} delivered={len(got)} "
          f"unacked_delivered={unacked_delivered} duplicates={duplicates} "
          f"tmp_leftovers={leftovers}")
    # the restarted daemon serves normally
    qid = p.send("s@remote.example", ["alice@example.test"], b"Subject: after\n\nafter\n")
    p.wait_id(qid, "alice")


def test_sigkill_right_after_250(postino_factory):
    """STYLE 9: kill -9 right after the 250, restart, the message is delivered."""
    p = postino_factory()
    sent = []
    for i in range(5):
        content = f"Subject: k{i}\n\nkilled {i}\n".encode()
        qid = p.send("s@remote.example", ["alice@example.test"], content)
        p.kill9()
        sent.append((qid, content))
        p.start()
    for qid, content in sent:
        assert p.wait_id(qid, "alice").body == content


def test_corrupt_spool_files_moved_aside(postino_factory):
    p = postino_factory(config={"relay": {"networks": "127.0.0.0/8"}})
    # two messages for a remote domain stay in the spool (no remote delivery yet)
    q1 = p.send("s@remote.example", ["user@remote.example"], b"Subject: r1\n\none\n")
    q2 = p.send("s@remote.example", ["user@remote.example"], b"Subject: r2\n\ntwo\n")
    p.wait_log(rf"{q2} {DEFERRED}")
    assert p.stop() == 0
    msg = p.spool / "msg"
    names = sorted(os.listdir(msg))
    assert q1 in names and q2 in names, f"spool msg/ holds {names}"
    # q1: garbage over the whole file; q2: cut in half; plus two strangers
    size = (msg / q1).stat().st_size
    (msg / q1).write_bytes(os.urandom(size))
    data = (msg / q2).read_bytes()
    (msg / q2).write_bytes(data[:len(data) // 2])
    fake = "ZZZZZZZZZZZZZZZZ"
    (msg / fake).write_bytes(b"this is not a spool file\n" * 10)
    (msg / "not-a-queue-id").write_bytes(b"junk")
    # never committed (the commit writes the header last): removed quietly
    (msg / "EMPTY00000000000").write_bytes(b"")
    (msg / "UNCOMMITTED00000").write_bytes(bytes(64) + data[64:])

    p.start()
    log = p.read_log()
    for name in (q1, q2, fake, "not-a-queue-id"):
        assert re.search(rf"spool\.corrupt .*{re.escape(name)}", log), (
            f"no spool.corrupt log line for {name}:\n{log[-3000:]}")
        assert not (msg / name).exists(), f"msg/{name} was not moved aside"
    for name in ("EMPTY00000000000", "UNCOMMITTED00000"):
        assert f"{name} spool.incomplete_removed" in log, log[-3000:]
        assert not (msg / name).exists(), f"msg/{name} was not removed"
    corrupt = os.listdir(p.spool / "corrupt")
    assert len(corrupt) == 4, f"corrupt/ holds {corrupt}"
    # and the daemon serves
    qid = p.send("s@remote.example", ["alice@example.test"], b"Subject: ok\n\nstill ok\n")
    assert p.wait_id(qid, "alice").body == b"Subject: ok\n\nstill ok\n"
    # a restart does not bring the corrupt files back
    p.restart()
    assert sorted(os.listdir(p.spool / "corrupt")) == sorted(corrupt)


def test_sigterm_under_load_loses_nothing(postino_factory):
    """SIGTERM while 20 sessions send: the daemon stops accepting, lets
    sessions finish for a bounded time, exits 0; after a restart every message
    that got its 250 is delivered."""
    p = postino_factory(config={"limits": {"max_connections_per_ip": "200"}})
    load = Load(p)
    assert load.half.wait(120), f"only {len(load.acked)} acknowledged: {load.errors}"
    assert p.stop() == 0
    load.join()
    assert not load.errors, load.errors
    acked = dict(load.acked)
    p.start()

    def tokens():
        return {token_of(Delivered(path)) for user in RECIPIENTS
                for path in p.maildir_files(user)}
    wait_for(lambda: set(acked) <= tokens(), timeout=60,
             what="every acknowledged message delivered after SIGTERM and restart")
