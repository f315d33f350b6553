"""On-Demand Mail Relay (RFC 2645): mail for an [odmr] domain is taken from
anyone, kept, and handed over the customer's own connection once it has
logged in and sent ATRN; postino then acts as the SMTP client on that
connection. The customer side here is Python: smtplib up to the 250, then a
small SMTP server written below on the same TLS socket."""

import re
import smtplib
import socket
import ssl
import subprocess

import pytest

from conftest import HOSTNAME, IO_TIMEOUT, POSTINO_BIN, free_port, send_message, wait_for

CUSTOMER, SECOND = "customer.example", "second.example"
LOGIN, PASSWORD = f"odmr@{CUSTOMER}", "odmr pass"
OTHER_LOGIN, OTHER_PASSWORD = "alice@example.test", "alice pass"
# a user of the customer's domain who is not its ODMR client
USER_LOGIN, USER_PASSWORD = f"user@{CUSTOMER}", "user pass"


def hash_password(pw):
    out = subprocess.run([str(POSTINO_BIN), "hash-password"], input=pw + "\n",
                         capture_output=True, text=True, timeout=30, check=True)
    return out.stdout.strip()


@pytest.fixture(scope="module")
def hashes():
    return {LOGIN: hash_password(PASSWORD), OTHER_LOGIN: hash_password(OTHER_PASSWORD),
            USER_LOGIN: hash_password(USER_PASSWORD)}


@pytest.fixture
def odmr(postino_factory, tmp_path, hashes):
    """mx (plain, no relay networks) and submission (STARTTLS, AUTH
    required); customer.example is an [odmr] domain."""
    return make_odmr(postino_factory, tmp_path, hashes)


def make_odmr(postino_factory, tmp_path, hashes, limits=None):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                    f"/CN={HOSTNAME}", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=30)
    sub = free_port()
    p = postino_factory(config={
        "tls": {"cert": str(cert), "key": str(key)},
        'listener "submission"': {"address": f"127.0.0.1:{sub}", "tls": "starttls",
                                  "auth": "required"},
        "odmr": {"domains": f"{CUSTOMER} {SECOND}",
                 "clients": f"{LOGIN}:{CUSTOMER},{SECOND}"},
        # ATRN makes waiting mail due at once; a retry due meanwhile would
        # keep an ATRN connection busy past its grace time
        "delivery": {"retry_min": "30s", "retry_max": "60s"},
        "limits": limits or {},
    }, start=False)
    users = "".join(f"{u}:{h}\n" for u, h in hashes.items()) + "postmaster@example.test:$6$x$y\n"
    (p.root / "users").write_text(users)
    p.start()
    p.sub_port = sub
    return p


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def logged_in(p, login=LOGIN, password=PASSWORD):
    s = smtplib.SMTP("127.0.0.1", p.sub_port, timeout=IO_TIMEOUT)
    s.starttls(context=ctx())
    s.ehlo("customer-host.example")
    assert s.has_extn("atrn"), s.esmtp_features
    s.login(login, password)
    return s


class Customer:
    """The customer's side after the turn: an SMTP server on the socket
    that carried ATRN. rcpt_reply(address) -> reply line for RCPT."""

    def __init__(self, sock, rcpt_reply=None):
        self.sock = sock
        self.buf = b""
        self.rcpt_reply = rcpt_reply or (lambda a: "250 2.1.5 ok")
        self.messages = []      # (sender, [rcpts], content bytes)
        self.commands = []

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("postino closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def send(self, text):
        self.sock.sendall(text.encode() + b"\r\n")

    def serve(self):
        """Greet, then answer until QUIT; returns the messages received."""
        self.send("220 customer-host.example ready to receive email")
        sender, rcpts = None, []
        while True:
            cmd = self.line().decode()
            self.commands.append(cmd)
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.send("250-customer-host.example\r\n250-8BITMIME\r\n250 PIPELINING")
            elif verb == "MAIL":
                sender, rcpts = re.match(r"MAIL FROM:<([^>]*)>", cmd, re.I).group(1), []
                self.send("250 2.1.0 ok")
            elif verb == "RCPT":
                addr = re.match(r"RCPT TO:<([^>]*)>", cmd, re.I).group(1)
                reply = self.rcpt_reply(addr)
                if reply.startswith("250"):
                    rcpts.append(addr)
                self.send(reply)
            elif verb == "DATA":
                if not rcpts:
                    self.send("554 5.5.1 no valid recipients")
                    continue
                self.send("354 go ahead")
                lines = []
                while True:
                    line = self.line()
                    if line == b".":
                        break
                    lines.append(line[1:] if line.startswith(b"..") else line)
                self.messages.append((sender, rcpts, b"\r\n".join(lines) + b"\r\n"))
                self.send("250 2.0.0 stored")
            elif verb == "RSET":
                sender, rcpts = None, []
                self.send("250 2.0.0 ok")
            elif verb == "QUIT":
                self.send("221 2.0.0 bye")
                return self.messages
            else:
                self.send("502 5.5.1 not here")


def atrn(s, arg=None):
    return s.docmd("ATRN", arg) if arg is not None else s.docmd("ATRN")


def queue_ids(p, *rcpts):
    ids = []
    for r in rcpts:
        ids.append(send_message(p.port, "sender@remote.example", [r],
                                f"Subject: for {r}\r\n\r\nbody for {r}\r\n"))
    return ids


def test_mail_waits_for_atrn_then_goes_over_the_customers_connection(odmr):
    p = odmr
    # from a client that may not relay: taken, since postino is the domain's MX
    ids = queue_ids(p, f"a@{CUSTOMER}", f"b@{CUSTOMER}")
    for qid in ids:
        p.wait_log(re.escape(qid) + r".*waiting for the ODMR client of " + re.escape(CUSTOMER))

    s = logged_in(p)
    code, text = atrn(s, CUSTOMER)
    assert code == 250, text
    assert b"reversing" in text
    got = Customer(s.sock).serve()
    s.sock.close()

    by_rcpt = {tuple(r): (snd, body) for snd, r, body in got}
    assert set(by_rcpt) == {(f"a@{CUSTOMER}",), (f"b@{CUSTOMER}",)}, got
    for r in ("a", "b"):
        sender, body = by_rcpt[(f"{r}@{CUSTOMER}",)]
        assert sender == "sender@remote.example"
        assert body.startswith(b"Received: ")
        assert body.endswith(f"Subject: for {r}@{CUSTOMER}\r\n\r\nbody for {r}@{CUSTOMER}\r\n"
                             .encode()), body
    for qid in ids:
        p.wait_log(re.escape(qid) + r" deliver.remote .*status=sent")
    p.wait_log(r"remote\.atrn_end .*messages=2 reason=\"done\"")
    assert re.search(r"smtp\.turned session=\d+ client=127\.0\.0\.1 ", p.read_log())


def test_no_domain_named_means_every_granted_one(odmr):
    p = odmr
    queue_ids(p, f"c@{CUSTOMER}", f"d@{SECOND}")
    s = logged_in(p)
    code, text = atrn(s)
    assert code == 250, text
    got = Customer(s.sock).serve()
    s.sock.close()
    assert sorted(r[0] for _, r, _ in got) == [f"c@{CUSTOMER}", f"d@{SECOND}"]


def test_several_domains_in_one_atrn(odmr):
    """RFC 2645's own example: ATRN example.org,example.com."""
    p = odmr
    queue_ids(p, f"e@{CUSTOMER}", f"f@{SECOND}")
    s = logged_in(p)
    assert atrn(s, f"{SECOND},{CUSTOMER}")[0] == 250
    got = Customer(s.sock).serve()
    s.sock.close()
    assert sorted(r[0] for _, r, _ in got) == [f"e@{CUSTOMER}", f"f@{SECOND}"]


def test_other_users_of_the_domain_cannot_take_its_mail(odmr):
    """Only the logins [odmr] clients names: a mailbox of the same domain
    (a submission account, say) gets 450, and nothing is sent."""
    p = odmr
    qid = queue_ids(p, f"secret@{CUSTOMER}")[0]
    with logged_in(p, USER_LOGIN, USER_PASSWORD) as s:
        assert atrn(s, CUSTOMER)[0] == 450
        assert atrn(s)[0] == 450
    assert f"{qid} remote.atrn" not in p.read_log()


def test_refused_recipient_waits_for_the_next_atrn(odmr):
    p = odmr
    ids = queue_ids(p, f"keep@{CUSTOMER}", f"ok@{CUSTOMER}")
    s = logged_in(p)
    assert atrn(s, CUSTOMER)[0] == 250
    got = Customer(s.sock, lambda a: "450 4.2.1 try later" if a.startswith("keep@")
                   else "250 ok").serve()
    s.sock.close()
    assert [r for _, r, _ in got] == [[f"ok@{CUSTOMER}"]]
    p.wait_log(re.escape(ids[0]) + r" .*450 4\.2\.1 try later")

    s = logged_in(p)
    assert atrn(s, CUSTOMER)[0] == 250
    got = Customer(s.sock).serve()
    s.sock.close()
    assert [r for _, r, _ in got] == [[f"keep@{CUSTOMER}"]]


def test_customer_dropping_the_connection_loses_nothing(odmr):
    p = odmr
    qid = queue_ids(p, f"drop@{CUSTOMER}")[0]
    s = logged_in(p)
    assert atrn(s, CUSTOMER)[0] == 250
    c = Customer(s.sock)
    c.send("220 customer-host.example ready")
    assert c.line().upper().startswith(b"EHLO ")
    s.sock.shutdown(socket.SHUT_RDWR)   # gone before any message
    s.sock.close()
    p.wait_log(r"remote\.atrn_end .*messages=0")
    s = logged_in(p)
    assert atrn(s, CUSTOMER)[0] == 250
    got = Customer(s.sock).serve()
    s.sock.close()
    assert [r for _, r, _ in got] == [[f"drop@{CUSTOMER}"]]
    p.wait_log(re.escape(qid) + r" deliver.remote .*status=sent")


def test_atrn_refusals(odmr):
    p = odmr
    # before AUTH: 530 (RFC 2645 section 7)
    with smtplib.SMTP("127.0.0.1", p.sub_port, timeout=IO_TIMEOUT) as s:
        s.starttls(context=ctx())
        s.ehlo("x.example")
        assert s.has_extn("atrn")
        assert atrn(s, CUSTOMER)[0] == 530
    # not offered where nobody can log in
    with smtplib.SMTP("127.0.0.1", p.port, timeout=IO_TIMEOUT) as s:
        s.ehlo("x.example")
        assert not s.has_extn("atrn")
        code, text = atrn(s, CUSTOMER)
        assert code == 502, text
        assert s.docmd("TURN")[0] == 502
    # nothing waiting: 453
    with logged_in(p) as s:
        code, text = atrn(s, CUSTOMER)
        assert (code, text) == (453, b"4.0.0 You have no mail")
        # another user's domain, or one that is not [odmr]: 450, all or nothing
        queue_ids(p, f"x@{CUSTOMER}")
        assert atrn(s, f"{CUSTOMER},example.org")[0] == 450
        assert atrn(s, "example.test")[0] == 450
        # syntax (RFC 2645 5.2.1): domains of two labels or more, commas only
        for bad in ("customer", f"{CUSTOMER}, other.example", "-bad.example", "a..example"):
            assert atrn(s, bad)[0] == 501, bad
        # inside a transaction
        s.mail(LOGIN)
        assert atrn(s, CUSTOMER)[0] == 503
        s.rset()
    with logged_in(p, OTHER_LOGIN, OTHER_PASSWORD) as s:
        assert atrn(s, CUSTOMER)[0] == 450
        assert atrn(s)[0] == 450       # not an [odmr] client at all


def test_second_atrn_for_a_busy_domain_is_told_to_wait(odmr):
    p = odmr
    queue_ids(p, f"busy@{CUSTOMER}")
    first = logged_in(p)
    assert atrn(first, CUSTOMER)[0] == 250
    # the first customer has not greeted yet: the domain is taken
    with logged_in(p) as s:
        assert atrn(s, CUSTOMER)[0] == 451
    got = Customer(first.sock).serve()
    first.sock.close()
    assert [r for _, r, _ in got] == [[f"busy@{CUSTOMER}"]]


def test_check_flags_odmr_domain_that_is_local(tmp_path):
    conf = tmp_path / "p.conf"
    conf.write_text(f"""[server]
hostname = mx.example.test
spool = {tmp_path}/spool
user = nobody
[listener "mx"]
address = 127.0.0.1:2525
tls = none
[domains]
local = example.test
[mailboxes]
users = {tmp_path}/users
aliases = {tmp_path}/aliases
[odmr]
domains = example.test
clients = odmr@example.test:example.test,elsewhere.example nologin bad@:x.example
""")
    (tmp_path / "users").write_text("postmaster@example.test:$6$x$y\n")
    (tmp_path / "aliases").write_text("")
    r = subprocess.run([str(POSTINO_BIN), "check", "-c", str(conf)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1
    assert (f"{conf}:14: [odmr] domains: 'example.test' is also a local domain; a domain "
            "is either delivered here or kept for ATRN") in r.stderr, r.stderr
    assert (f"{conf}:14: warning: [odmr] domains: no listener has auth") in r.stderr, r.stderr
    assert (f"{conf}:15: [odmr] clients: 'nologin' is not LOGIN:DOMAIN[,DOMAIN...]"
            in r.stderr), r.stderr
    assert f"{conf}:15: [odmr] clients: 'bad@': the login is not user@domain" in r.stderr
    assert (f"{conf}:15: [odmr] clients: 'elsewhere.example' is not one of [odmr] domains"
            in r.stderr), r.stderr


def test_mail_during_quit_does_not_keep_the_connection(odmr):
    """A customer that never answers QUIT while new mail comes in: the
    connection still ends (10 s after QUIT) and the new mail waits for the
    next ATRN (review finding: it used to hang there for good)."""
    p = odmr
    queue_ids(p, f"first@{CUSTOMER}")
    s = logged_in(p)
    assert atrn(s, CUSTOMER)[0] == 250
    c = Customer(s.sock)
    c.send("220 customer-host.example ready")
    while True:
        cmd = c.line().decode()
        verb = cmd.split(" ", 1)[0].upper()
        if verb == "EHLO":
            c.send("250 customer-host.example")
        elif verb in ("MAIL", "RCPT", "RSET"):
            c.send("250 ok")
        elif verb == "DATA":
            c.send("354 go")
            while c.line() != b".":
                pass
            c.send("250 stored")
        elif verb == "QUIT":
            break                       # and never answer it
    late = queue_ids(p, f"late@{CUSTOMER}")[0]
    p.wait_log(r"remote\.atrn_end .*reason=\"no reply to QUIT\"", timeout=30)
    p.wait_log(re.escape(late) + r" .*waiting for the ODMR client")
    s.sock.close()
    s = logged_in(p)
    assert atrn(s, CUSTOMER)[0] == 250
    got = Customer(s.sock).serve()
    s.sock.close()
    assert [r for _, r, _ in got] == [[f"late@{CUSTOMER}"]]


def test_messages_the_customer_cannot_take_bounce_and_the_session_ends(odmr):
    """SMTPUTF8 mail for a customer that does not offer SMTPUTF8 is refused
    before anything is sent, one message after another from the event loop
    (not recursively), bounces, and the session ends normally."""
    p = odmr
    n = 30
    ids = []
    for i in range(n):
        with p.connect() as conn:
            conn.greet()
            conn.command(f"MAIL FROM:<sender{i}@remote.example> SMTPUTF8", 250)
            conn.command(f"RCPT TO:<ü{i}@{CUSTOMER}>", 250)
            conn.command("DATA", 354)
            conn.send(b"Subject: utf8\r\n\r\nx\r\n.\r\n")
            ids.append(conn.expect(250, "2.0.0"))
    s = logged_in(p)
    assert atrn(s, CUSTOMER)[0] == 250
    got = Customer(s.sock).serve()
    s.sock.close()
    assert got == []
    p.wait_log(r"remote\.atrn_end .*messages=30 reason=\"done\"")
    p.wait_log(r"deliver\.remote to=<ü\d+@customer\.example> status=bounced", count=n)


def test_turned_connection_keeps_its_place_in_the_limits(postino_factory, tmp_path, hashes):
    """After the turn the connection is remote delivery's, but it still
    counts against max_connections_per_ip until it ends."""
    p = make_odmr(postino_factory, tmp_path, hashes, limits={"max_connections_per_ip": "2"})
    queue_ids(p, f"limit@{CUSTOMER}")
    s = logged_in(p)
    assert atrn(s, CUSTOMER)[0] == 250
    def admitted():
        # sessions that sent QUIT just now may still hold their slot a moment
        c = p.connect()
        if c.reply()[0] == 220:
            return c
        c.close()
        return None
    second = wait_for(admitted, timeout=10, interval=0.2, what="a second connection admitted")
    with p.connect() as third:
        code, _ = third.reply()
        assert code == 421
    got = Customer(s.sock).serve()
    s.sock.close()
    assert [r for _, r, _ in got] == [[f"limit@{CUSTOMER}"]]
    p.wait_log(r"remote\.atrn_end .*reason=\"done\"")
    with p.connect() as again:
        assert again.reply()[0] == 220
    second.close()
