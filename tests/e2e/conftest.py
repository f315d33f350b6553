"""End-to-end test infrastructure: start the real `postino serve` on a free
loopback port with a configuration written by the test, and talk to it.

The binary comes from $POSTINO_BIN (default: <repo>/build/postino). It may be
an ASan+UBSan build: every daemon's log is checked for sanitizer reports when
it stops, and a clean SIGTERM must end it with exit status 0.

Run with Debian's interpreter:
    POSTINO_BIN=$PWD/build/postino /usr/bin/python3 -m pytest -q tests/e2e
"""

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
POSTINO_BIN = Path(os.environ.get("POSTINO_BIN", str(REPO / "build" / "postino")))

LOCAL_DOMAIN = "example.test"
HOSTNAME = "mx.example.test"
ANY_HASH = "$6$x$y"   # never checked: these users only receive mail

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer", " panic ")

START_TIMEOUT = 10.0   # seconds for the daemon to accept connections
STOP_TIMEOUT = 25.0    # seconds for SIGTERM to end it (its own grace is 10 s)
IO_TIMEOUT = 15.0      # seconds for any one reply (ASan builds are slow)
DELIVERY_TIMEOUT = 20.0  # seconds for an accepted message to reach its Maildir

# The test DNS (dnsmasq on loopback, started once per session): every daemon
# resolves through it, so no test touches real DNS. remote.example's MX is
# 127.0.0.1, reached on CLOSED_PORT where nothing listens: remote delivery
# to it is deferred at once, and the message stays queued.
DNS = {"port": None, "closed_port": None}
DEFERRED = r"deliver\.remote to=<[^>]*> status=deferred"


def dnsmasq_cmd(port, records):
    """dnsmasq serving only `records` (its own options) on 127.0.0.1:port."""
    return (["dnsmasq", "--no-daemon", "--conf-file=/dev/null", f"--port={port}",
             "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
             "--pid-file=", "--log-facility=-"] + list(records))


# --------------------------------------------------------------------------
# small helpers

def wait_for(predicate, timeout=DELIVERY_TIMEOUT, interval=0.02, what="condition"):
    """Poll predicate() until it returns something true; return that value.
    Fails the test (AssertionError) after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
        interval = min(interval * 1.5, 0.25)


def free_port():
    """A loopback port nobody listens on right now (bind port 0, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_user():
    """The account the tests run as (and submit mail as)."""
    return pwd.getpwuid(os.getuid()).pw_name


def daemon_user():
    """[server] user of the test daemons: postino never delivers as root, so
    when the tests run as root the daemons drop to nobody, else they stay the
    account we run as."""
    return "nobody" if os.geteuid() == 0 else run_user()


def reachable_dir(prefix):
    """A new directory under /tmp that the daemon user can reach (pytest's
    tmp_path lies under a 0700 directory of root's)."""
    d = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    d.chmod(0o755)
    return d


def sanitizer_problems(text):
    return [line for line in text.splitlines()
            if any(m in line for m in SANITIZER_MARKERS)]


def is_asan_binary(path=POSTINO_BIN):
    """True when the binary was built with AddressSanitizer."""
    try:
        out = subprocess.run(["ldd", str(path)], capture_output=True, text=True,
                             timeout=10).stdout
        if "libasan" in out:
            return True
        with open(path, "rb") as f:
            return b"AddressSanitizer" in f.read()
    except OSError:
        return False


def escape_decode(text):
    """Decode the escapes of tests/dialog (\\r \\n \\0 \\t \\\\ \\xHH) into bytes."""
    out = bytearray()
    raw = text.encode("utf-8")
    i = 0
    simple = {ord("r"): b"\r", ord("n"): b"\n", ord("0"): b"\0", ord("t"): b"\t",
              ord("\\"): b"\\"}
    while i < len(raw):
        c = raw[i]
        if c == ord("\\") and i + 1 < len(raw):
            n = raw[i + 1]
            if n in simple:
                out += simple[n]
                i += 2
                continue
            if n == ord("x") and i + 4 <= len(raw):
                out.append(int(raw[i + 2:i + 4], 16))
                i += 4
                continue
        out.append(c)
        i += 1
    return bytes(out)


# --------------------------------------------------------------------------
# Maildir files

class Delivered:
    """A delivered Maildir file split into postino's three trace fields and
    the message as stored."""

    def __init__(self, path):
        self.path = Path(path)
        self.raw = self.path.read_bytes()
        data = self.raw
        lines = data.split(b"\n")
        if len(lines) < 4:
            raise AssertionError(f"{path}: too short for a delivered message: {data[:200]!r}")
        if not lines[0].startswith(b"Return-Path: "):
            raise AssertionError(f"{path}: first line is not Return-Path: {lines[0][:200]!r}")
        if not lines[1].startswith(b"Delivered-To: "):
            raise AssertionError(f"{path}: second line is not Delivered-To: {lines[1][:200]!r}")
        if not lines[2].startswith(b"Received: "):
            raise AssertionError(f"{path}: third line is not Received: {lines[2][:200]!r}")
        self.return_path = lines[0][len(b"Return-Path: "):].decode("utf-8", "replace")
        self.delivered_to = lines[1][len(b"Delivered-To: "):].decode("utf-8", "replace")
        i = 3
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
        self.received = b"\n".join(lines[2:i]).decode("utf-8", "replace")
        self.body = b"\n".join(lines[i:])
        m = re.search(r"\bid ([0-9A-Z]+)", self.received)
        self.queue_id = m.group(1) if m else None

    def __repr__(self):
        return f"Delivered({self.path.name}, id={self.queue_id})"


# --------------------------------------------------------------------------
# a raw SMTP client that shows the server's bytes exactly

class SMTPError(AssertionError):
    pass


class Conn:
    """A TCP connection to the daemon reading CRLF-terminated reply lines
    with a bounded timeout; a hang fails the test instead of blocking it."""

    def __init__(self, port, host="127.0.0.1", timeout=IO_TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = b""
        self.eof = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def cmd(self, line):
        self.send(line.encode("utf-8") + b"\r\n" if isinstance(line, str)
                  else line + b"\r\n")

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise SMTPError(f"timed out waiting for the server (buffered: {self.buf[:200]!r})")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise SMTPError(f"timed out waiting for the server (buffered: {self.buf[:200]!r})")
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
        self.buf += chunk

    def line(self, timeout=None):
        """The next reply line without its CRLF (bytes)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n" not in self.buf:
            if self.eof:
                raise SMTPError(f"connection closed by the server (pending: {self.buf[:200]!r})")
            self._fill(deadline)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self, timeout=None):
        """The next whole (possibly multi-line) reply: (code, [texts])."""
        texts = []
        while True:
            line = self.line(timeout).decode("utf-8", "replace")
            if len(line) < 3 or not line[:3].isdigit() or (len(line) > 3 and line[3] not in " -"):
                raise SMTPError(f"malformed reply line {line!r}")
            texts.append(line[4:])
            if len(line) == 3 or line[3] == " ":
                return int(line[:3]), texts

    def expect(self, code, enhanced=None, timeout=None):
        got_code, texts = self.reply(timeout)
        if got_code != code or (enhanced and not texts[-1].startswith(enhanced)):
            raise SMTPError(f"got {got_code} {texts!r}, want {code} {enhanced or ''}")
        return texts

    def command(self, line, code, enhanced=None):
        self.cmd(line)
        return self.expect(code, enhanced)

    def closed(self, timeout=None):
        """True when the server closes the connection (EOF) before timeout."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.eof:
            try:
                self._fill(deadline)
            except SMTPError:
                return False
            except OSError:
                return True
        return True

    def greet(self, name="client.example"):
        self.expect(220)
        self.cmd(f"EHLO {name}")
        return self.expect(250)


def dot_stuff(content):
    """Wire form of a message (LF or CRLF line ends, ending with a line end):
    CRLF line ends, leading dots doubled, and the terminating dot."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    lines = content.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    wire = bytearray()
    for ln in lines:
        if ln.startswith(b"."):
            wire += b"."
        wire += ln + b"\r\n"
    wire += b".\r\n"
    return bytes(wire)


QUEUED_RE = re.compile(r"^2\.0\.0 Ok: queued as ([0-9A-Z]+)$")


def queue_id_of(texts):
    m = QUEUED_RE.match(texts[-1])
    if not m:
        raise SMTPError(f"no queue ID in {texts!r}")
    return m.group(1)


def send_message(port, sender, rcpts, content, mail_params="", ehlo="client.example"):
    """One transaction on a fresh connection; content is the message as stored
    (LF line ends). Returns the queue ID from the 250 reply."""
    with Conn(port) as c:
        c.greet(ehlo)
        qid = transaction(c, sender, rcpts, content, mail_params)
        c.command("QUIT", 221)
        return qid


def transaction(c, sender, rcpts, content, mail_params=""):
    c.command(f"MAIL FROM:<{sender}>{(' ' + mail_params) if mail_params else ''}", 250, "2.1.0")
    for r in rcpts:
        c.command(f"RCPT TO:<{r}>", 250, "2.1.5")
    c.command("DATA", 354)
    c.send(dot_stuff(content))
    return queue_id_of(c.expect(250, "2.0.0"))


# --------------------------------------------------------------------------
# the daemon

def default_sections(root, port):
    return {
        "server": {
            "hostname": HOSTNAME,
            "spool": str(root / "spool"),
            "user": daemon_user(),
        },
        'listener "mx"': {
            "address": f"127.0.0.1:{port}",
            "tls": "none",
            "auth": "none",
        },
        "domains": {"local": LOCAL_DOMAIN},
        "mailboxes": {
            "users": str(root / "users"),
            "aliases": str(root / "aliases"),
            "maildir": str(root / "mail") + "/%d/%n",
        },
        "relay": {"networks": ""},
        "dns": {"resolver": f"127.0.0.1:{DNS['port']}" if DNS["port"] else None},
        "delivery": {"remote_port": str(DNS["closed_port"]) if DNS["closed_port"] else None},
        "limits": {
            "max_connections": "1000",
            "max_connections_per_ip": "200",
        },
    }


def render_config(sections):
    out = []
    for name, keys in sections.items():
        out.append(f"[{name}]")
        for k, v in keys.items():
            if v is None:
                continue
            out.append(f"{k} = {v}" if v != "" else f"{k} =")
        out.append("")
    return "\n".join(out)


class Postino:
    """One daemon instance: its configuration, spool, Maildirs and log."""

    def __init__(self, root, config=None, users=None, aliases=None, wrapper=None, env=None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        mail = self.root / "mail"
        mail.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            pw = pwd.getpwnam(daemon_user())
            os.chown(mail, pw.pw_uid, pw.pw_gid)
        self.port = free_port()
        self.sections = default_sections(self.root, self.port)
        for section, keys in (config or {}).items():
            self.sections.setdefault(section, {}).update(keys)
        self.conf = self.root / "postino.conf"
        self.spool = Path(self.sections["server"]["spool"])
        self.mailroot = self.root / "mail"
        self.log_path = self.root / "postino.log"
        self.users = ["alice", "bob", "postmaster"] if users is None else users
        self.aliases = aliases or {}
        self.wrapper = list(wrapper or [])
        self.env = dict(env or {})
        self.proc = None
        self.exit_codes = []   # of every stop, for the teardown check
        self.starts = 0        # successful starts
        self.write_files()

    # files -----------------------------------------------------------------
    def write_files(self):
        self.conf.write_text(render_config(self.sections))
        lines = []
        for u in self.users:
            addr = u if "@" in u else f"{u}@{LOCAL_DOMAIN}"
            lines.append(f"{addr}:{ANY_HASH}\n")
        (self.root / "users").write_text("".join(lines))
        alines = []
        for alias, targets in self.aliases.items():
            addr = alias if "@" in alias else f"{alias}@{LOCAL_DOMAIN}"
            alines.append(f"{addr}: {', '.join(targets)}\n")
        (self.root / "aliases").write_text("".join(alines))

    # process ---------------------------------------------------------------
    def start(self, wait=True, timeout=START_TIMEOUT):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        env.update(self.env)
        env.pop("POSTINO_CONFIG", None)
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                self.wrapper + [str(POSTINO_BIN), "serve", "-c", str(self.conf)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.root, env=env)
        finally:
            log.close()
        if wait:
            try:
                self.wait_ready(timeout)
            except AssertionError:
                # someone else took the free port between our probe and the
                # daemon's bind: on a first start, move to another port
                if (self.starts or self.proc.poll() is None
                        or "Address already in use" not in self.read_log()):
                    raise
                self.port = free_port()
                self.sections['listener "mx"']["address"] = f"127.0.0.1:{self.port}"
                self.write_files()
                return self.start(wait, timeout)
            self.starts += 1
        return self

    def wait_ready(self, timeout=START_TIMEOUT):
        """Wait until the port answers with a 220 greeting; end that probe
        session cleanly (QUIT, then the server's close) so it does not count
        against connection limits afterwards."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"postino exited with {self.proc.returncode} while starting:\n{self.read_log()}")
            try:
                with Conn(self.port, timeout=max(1.0, deadline - time.monotonic())) as c:
                    c.expect(220)
                    c.cmd("QUIT")
                    c.expect(221)
                    c.closed()
                return
            except (OSError, SMTPError):
                if time.monotonic() >= deadline:
                    raise AssertionError(
                        f"postino did not accept connections within {timeout}s:\n{self.read_log()}")
                time.sleep(0.05)

    def daemon_pid(self):
        """The postino process: our child, or the wrapper's (strace) child."""
        if not self.wrapper:
            return self.proc.pid
        def child():
            try:
                with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                    kids = f.read().split()
                return int(kids[0]) if kids else None
            except OSError:
                return None
        return wait_for(child, START_TIMEOUT, what="the wrapped daemon's pid")

    def send_signal(self, sig):
        os.kill(self.daemon_pid(), sig)

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Signal the daemon and wait (bounded) for it; returns its exit code
        (under a wrapper such as strace: the wrapper's, which passes it on)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                self.send_signal(signal.SIGKILL)
            except (OSError, AssertionError):
                pass
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(f"postino did not exit within {timeout}s of signal {sig}")
        if sig == signal.SIGTERM:
            self.exit_codes.append(rc)
        return rc

    def kill9(self):
        self.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def restart(self):
        self.stop()
        return self.start()

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # observation -----------------------------------------------------------
    def read_log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def maildir(self, user, domain=LOCAL_DOMAIN):
        return self.mailroot / domain.lower() / user.lower()

    def maildir_files(self, user, domain=LOCAL_DOMAIN, sub="new"):
        d = self.maildir(user, domain) / sub
        try:
            return sorted(p for p in d.iterdir() if p.is_file())
        except FileNotFoundError:
            return []

    def all_delivered(self):
        """Every file in every new/ under the Maildir root, parsed."""
        out = []
        if not self.mailroot.exists():
            return out
        for p in sorted(self.mailroot.glob("*/*/new/*")):
            if p.is_file():
                out.append(Delivered(p))
        return out

    def delivered(self, user, domain=LOCAL_DOMAIN):
        return [Delivered(p) for p in self.maildir_files(user, domain)]

    def wait_delivered(self, user, count=1, domain=LOCAL_DOMAIN, timeout=DELIVERY_TIMEOUT):
        """Wait until user's new/ holds at least count files; return them parsed."""
        wait_for(lambda: len(self.maildir_files(user, domain)) >= count, timeout,
                 what=f"{count} message(s) in {user}@{domain}'s Maildir "
                      f"(have {len(self.maildir_files(user, domain))})")
        return self.delivered(user, domain)

    def wait_id(self, qid, user, domain=LOCAL_DOMAIN, timeout=DELIVERY_TIMEOUT):
        """Wait until the message with queue ID qid is in user's new/; return it."""
        def find():
            for p in self.maildir_files(user, domain):
                d = Delivered(p)
                if d.queue_id == qid:
                    return d
            return None
        return wait_for(find, timeout, what=f"queue ID {qid} in {user}@{domain}'s Maildir")

    def wait_log(self, pattern, timeout=DELIVERY_TIMEOUT, count=1):
        rx = re.compile(pattern)
        return wait_for(lambda: len(rx.findall(self.read_log())) >= count, timeout,
                        what=f"log line matching {pattern!r}")

    def connect(self, timeout=IO_TIMEOUT):
        return Conn(self.port, timeout=timeout)

    def send(self, sender, rcpts, content, mail_params=""):
        return send_message(self.port, sender, rcpts, content, mail_params)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures know a test failed."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def postino_factory(request):
    """make(config={section: {key: value}}, users=[...], aliases={...},
    start=True, wrapper=[...], env={...}) -> Postino. Every daemon is stopped
    with SIGTERM at teardown, must exit 0 and leave no sanitizer report. Their
    directories lie in a reachable_dir, removed after the test."""
    made = []
    tmp_path = reachable_dir("postino-e2e-")

    def make(config=None, users=None, aliases=None, start=True, wrapper=None, env=None,
             name=None, start_timeout=START_TIMEOUT):
        p = Postino(tmp_path / (name or f"postino{len(made)}"), config, users, aliases,
                    wrapper, env)
        made.append(p)
        if start:
            p.start(timeout=start_timeout)
        return p

    yield make

    problems = []
    for p in made:
        try:
            if p.running:
                p.stop()
        except AssertionError as e:
            problems.append(str(e))
        bad = [rc for rc in p.exit_codes if rc != 0]
        if bad:
            problems.append(f"{p.root.name}: exit status {bad} after SIGTERM, want 0")
        san = sanitizer_problems(p.read_log())
        if san:
            problems.append(f"{p.root.name}: sanitizer/panic output:\n" + "\n".join(san[:20]))
    logs = "\n".join(f"--- {p.log_path}:\n{p.read_log()[-4000:]}" for p in made)
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        # the test failed: its daemons' logs go with the report
        rep.sections.append(("postino logs", logs))
    shutil.rmtree(tmp_path, ignore_errors=True)
    if problems:
        pytest.fail("\n".join(problems) + "\n" + logs, pytrace=False)


@pytest.fixture
def postino(postino_factory):
    """A daemon with the standard test configuration, already serving."""
    return postino_factory()


@pytest.fixture(scope="session", autouse=True)
def test_dns():
    """The session's DNS server (see DNS above)."""
    import shutil
    if not shutil.which("dnsmasq"):
        pytest.exit("dnsmasq is needed for the end-to-end tests (apt-get install dnsmasq-base)")
    port = free_port()
    proc = subprocess.Popen(dnsmasq_cmd(port, [
        "--mx-host=remote.example,mx.remote.example,10",
        "--host-record=mx.remote.example,127.0.0.1",
    ]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    DNS["port"], DNS["closed_port"] = port, free_port()
    time.sleep(0.2)
    yield DNS
    proc.terminate()
    proc.wait(timeout=10)
    DNS["port"] = DNS["closed_port"] = None


def pytest_report_header(config):
    return f"postino binary: {POSTINO_BIN}" + (" (ASan)" if POSTINO_BIN.exists()
                                               and is_asan_binary() else "")


def pytest_sessionstart(session):
    if not POSTINO_BIN.exists():
        raise pytest.UsageError(f"postino binary not found at {POSTINO_BIN}; set POSTINO_BIN")
