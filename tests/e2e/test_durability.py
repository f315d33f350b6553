"""Durability (SPEC: 250 after the final dot means fsync of the file and of
its directory happened first), checked two ways: in an strace of the real
daemon, and by making the Nth file-system call in the spool fail with the
LD_PRELOAD fault shim (tests/fault/faultshim.c)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import POSTINO_BIN, dot_stuff, is_asan_binary, queue_id_of

# --------------------------------------------------------------------------
# strace

SYSCALLS = "openat,open,fsync,fdatasync,rename,renameat,renameat2,write,writev,sendto,sendmsg"


def strace_usable():
    if shutil.which("strace") is None:
        return "strace is not installed"
    try:
        r = subprocess.run(["strace", "-o", "/dev/null", "/bin/true"], capture_output=True,
                           timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"strace does not run: {e}"
    if r.returncode != 0:
        return "ptrace is not permitted here: " + r.stderr.decode(errors="replace").strip()
    return None


LINE_RE = re.compile(r"^(\d+)\s+\S+\s+(.*)$")
CALL_RE = re.compile(r"^([a-z0-9_]+)\((.*)$")
RESUMED_RE = re.compile(r"^<\.\.\. ([a-z0-9_]+) resumed>(.*)$")
RET_RE = re.compile(r"\)\s+=\s+(-?\d+|\?)(.*)$")


class Call:
    def __init__(self, pid, name, args, start):
        self.pid, self.name, self.args, self.start = pid, name, args, start
        self.end = None
        self.ret = None

    def finish(self, tail, end):
        self.end = end
        m = RET_RE.search(tail)
        self.ret = m.group(1) if m else None

    def first_path(self):
        m = re.match(r"-?\d+<([^>]*)>", self.args)
        return m.group(1) if m else None

    def __repr__(self):
        return f"{self.name}({self.args[:120]}) = {self.ret} [{self.start}..{self.end}]"


def parse_strace(text):
    """Calls in the order strace saw them start; start/end are line numbers,
    so an unfinished call's end is where its 'resumed' line is."""
    calls, pending = [], {}
    for i, line in enumerate(text.splitlines()):
        m = LINE_RE.match(line)
        if not m:
            continue
        pid, rest = m.group(1), m.group(2)
        r = RESUMED_RE.match(rest)
        if r:
            c = pending.pop(pid, None)
            if c is not None:
                c.args += r.group(2)
                c.finish(r.group(2), i)
            continue
        cm = CALL_RE.match(rest)
        if not cm:
            continue
        c = Call(pid, cm.group(1), cm.group(2), i)
        if rest.endswith("<unfinished ...>"):
            c.args = c.args[: -len("<unfinished ...>")].rstrip()
            pending[pid] = c
        else:
            c.finish(rest, i)
        calls.append(c)
    return calls


def rename_target(c):
    """The destination path of a rename/renameat/renameat2 call, or None."""
    m = re.match(r'(?:-?\d+|AT_FDCWD)(?:<([^>]*)>)?, "([^"]*)", (?:-?\d+|AT_FDCWD)(?:<([^>]*)>)?, '
                 r'"([^"]*)"', c.args)
    if m:
        d, name = m.group(3) or "", m.group(4)
        return name if name.startswith("/") else os.path.join(d, name)
    m = re.match(r'"([^"]*)", "([^"]*)"', c.args)
    return m.group(2) if m else None


def test_fsync_before_250(postino_factory):
    why = strace_usable()
    if why:
        pytest.skip(why)
    p = postino_factory(start=False)
    trace = p.root / "strace.txt"
    p.wrapper = ["strace", "-f", "-tt", "-y", "-s", "4096", "-e", f"trace={SYSCALLS}",
                 "-o", str(trace)]
    # LeakSanitizer cannot run under ptrace; the rest of ASan/UBSan can
    p.env = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0"}
    p.start(timeout=60)
    content = b"Subject: durable\n\nsynced before the 250\n"
    qid = p.send("s@remote.example", ["alice@example.test"], content)
    assert p.wait_id(qid, "alice").body == content
    assert p.stop() == 0
    calls = parse_strace(trace.read_text(errors="replace"))
    spool = os.path.realpath(p.spool)

    acks = [c for c in calls if c.name in ("write", "writev", "sendto", "sendmsg")
            and f"queued as {qid}" in c.args]
    assert acks, f"no write of '250 ... queued as {qid}' in the strace"
    ack = acks[0]

    syncs = [c for c in calls if c.name in ("fsync", "fdatasync") and c.ret == "0"
             and c.end is not None and c.end < ack.start]
    file_syncs = [c for c in syncs if (c.first_path() or "").startswith(spool + "/")
                  and os.path.basename(c.first_path()) == qid]
    assert file_syncs, (f"no fsync/fdatasync of the spool file {qid} before the 250:\n"
                        + "\n".join(map(repr, syncs)))
    fsync_file = file_syncs[0]
    final = fsync_file.first_path()

    renames = [c for c in calls if c.name in ("rename", "renameat", "renameat2")
               and qid in c.args and c.start < ack.start]
    after = fsync_file.end
    if renames:
        r = renames[-1]
        assert r.ret == "0", f"rename failed: {r}"
        assert r.start > fsync_file.end, (
            f"the spool file was renamed into place before it was synced: {r} / {fsync_file}")
        assert r.end < ack.start, f"rename not finished before the 250: {r}"
        final = rename_target(r)
        assert final, f"cannot read the rename target of {r}"
        after = r.end
    final_dir = os.path.dirname(final)
    assert final_dir.startswith(spool), f"message committed outside the spool: {final}"
    dir_syncs = [c for c in syncs if c.first_path() == final_dir and c.start > after]
    assert dir_syncs, (f"no fsync of the directory {final_dir} after the file was synced"
                       f"{' and renamed' if renames else ''} and before the 250:\n"
                       + "\n".join(map(repr, syncs)))


# --------------------------------------------------------------------------
# fault injection

def find_shim():
    env = os.environ.get("FAULTSHIM")
    if env:
        return Path(env) if Path(env).is_file() else None
    bindir = POSTINO_BIN.resolve().parent
    for pattern in ("tests/fault/libfaultshim*.so", "tests/fault/*.so", "**/libfaultshim*.so",
                    "**/*faultshim*.so"):
        hits = sorted(bindir.glob(pattern))
        if hits:
            return hits[0]
    return None


# the spool commit renames nothing (the file is written in msg/, its header
# last); Maildir renames are covered by tests/fault
FAULT_OPS = ["write", "fsync", "fdatasync", "open"]
MESSAGES = 2          # messages per run that must pass without a fault before giving up
MAX_NTH = 24          # bound on the runs per operation


def try_message(p, i):
    """One message on its own connection. ('ok', qid) or ('refused', code, text)."""
    content = f"Subject: fault {i}\n\nmessage {i}\n".encode()
    with p.connect() as c:
        c.greet()
        for line, want in (("MAIL FROM:<s@remote.example>", 250),
                           ("RCPT TO:<alice@example.test>", 250), ("DATA", 354)):
            c.cmd(line)
            code, texts = c.reply()
            if code != want:
                return ("refused", code, texts[-1], line)
        c.send(dot_stuff(content))
        code, texts = c.reply()
        if code != 250:
            return ("refused", code, texts[-1], "final dot")
        c.command("QUIT", 221)
        return ("ok", queue_id_of(texts), content)


def run_with_fault(postino_factory, shim, op, nth):
    p = postino_factory(config={"delivery": {"retry_min": "1s", "retry_max": "2s"}},
                        start=False, name=f"fault-{op}-{nth}")
    p.env = {"LD_PRELOAD": str(shim), "FAULT_OP": op, "FAULT_NTH": str(nth),
             "FAULT_DIR": str(p.spool), "FAULT_ERRNO": "EIO"}
    p.start(wait=False)
    try:
        p.wait_ready()
    except AssertionError:
        if p.proc.poll() is None:
            raise
        # the fault hit start-up: refusing to start, clearly, is fine
        log = p.read_log()
        assert "faultshim: injected" in log, f"postino failed to start without a fault:\n{log}"
        assert p.proc.returncode != 0, "postino exited 0 after a start-up I/O error"
        assert re.search(r"\berror\b", log), f"no error logged for the start-up fault:\n{log}"
        return {"startup": True, "injected": True, "refused": []}

    accepted, refused = [], []
    for i in range(MESSAGES + 3):
        r = try_message(p, i)
        if r[0] == "ok":
            accepted.append((i,) + r[1:])
            assert p.wait_id(r[1], "alice").body == r[2]
            if refused or i >= MESSAGES:
                break   # served after the fault (or no fault so far)
        else:
            refused.append((i,) + r[1:])
    injected = "faultshim: injected" in p.read_log()
    # every 250 is delivered, and the daemon still serves after a refusal
    for i, qid, _ in accepted:
        p.wait_id(qid, "alice")
    if refused:
        assert accepted and accepted[-1][0] > refused[-1][0], (
            f"{op} #{nth}: not serving after the fault: refused {refused}, accepted "
            f"{[a[0] for a in accepted]}")
    assert len(refused) <= 1, f"{op} #{nth}: one fault refused several messages: {refused}"
    for i, code, text, stage in refused:
        assert (code, text[:5]) == (451, "4.3.0"), (
            f"{op} #{nth}: message {i} got {code} {text} at {stage}, want 451 4.3.0")
        assert injected, f"{op} #{nth}: message {i} refused ({code} {text}) without a fault"
    # a refused message must not be delivered anyway (spool.h: nothing remains)
    got = [d.body for d in p.delivered("alice")]
    for i, *_ in refused:
        body = f"Subject: fault {i}\n\nmessage {i}\n".encode()
        assert body not in got, f"{op} #{nth}: message {i} got 451 but was delivered"
    assert len(got) == len(accepted), (
        f"{op} #{nth}: {len(got)} files delivered, {len(accepted)} accepted")
    assert p.stop() == 0
    return {"startup": False, "injected": injected, "refused": refused}


@pytest.mark.parametrize("op", FAULT_OPS)
def test_fault_injection(postino_factory, op):
    if is_asan_binary():
        pytest.skip("LD_PRELOAD fault shim does not mix with an ASan binary")
    shim = find_shim()
    if shim is None:
        pytest.skip("fault shim not built: set FAULTSHIM or build tests/fault/libfaultshim.so "
                    f"next to {POSTINO_BIN}")
    results = []
    for nth in range(1, MAX_NTH + 1):
        res = run_with_fault(postino_factory, shim, op, nth)
        results.append((nth, res))
        if not res["injected"]:
            break   # the Nth call lies beyond what these messages do
    refusals = [(nth, r["refused"]) for nth, r in results if r["refused"]]
    print(f"\nfault {op}: runs={len(results)} startup_failures="
          f"{sum(1 for _, r in results if r['startup'])} refusals={refusals}")
    if op != "open" or refusals:
        assert refusals, (f"no fault of {op} ever made a commit fail with 451: "
                          f"{[(n, r) for n, r in results]}")
