"""STARTTLS, implicit TLS and SMTP AUTH (issue 3): real clients (smtplib,
swaks, openssl s_client) against listeners with a test certificate and
users whose passwords are real crypt(3) hashes made by `postino hash-password`."""

import shutil
import smtplib
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from conftest import HOSTNAME, IO_TIMEOUT, POSTINO_BIN, free_port

PASSWORDS = {"alice@example.test": "alice-secret", "bob@example.test": "b0b pass"}


def hash_password(pw):
    out = subprocess.run([str(POSTINO_BIN), "hash-password"], input=pw + "\n",
                         capture_output=True, text=True, timeout=30, check=True)
    h = out.stdout.strip()
    assert h.startswith("$"), out
    return h


@pytest.fixture(scope="module")
def hashes():
    return {u: hash_password(p) for u, p in PASSWORDS.items()}


@pytest.fixture
def tls_server(postino_factory, tmp_path, hashes):
    """A daemon with three listeners: mx (plain), submission (STARTTLS, AUTH
    required), smtps (implicit TLS, AUTH optional)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                    f"/CN={HOSTNAME}", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=30)
    sub, smtps = free_port(), free_port()
    p = postino_factory(config={
        "tls": {"cert": str(cert), "key": str(key)},
        'listener "submission"': {"address": f"127.0.0.1:{sub}", "tls": "starttls",
                                  "auth": "required"},
        'listener "smtps"': {"address": f"127.0.0.1:{smtps}", "tls": "implicit",
                             "auth": "optional"},
    }, aliases={"alice.alias": ["alice@example.test"]}, start=False)
    users = "".join(f"{u}:{h}\n" for u, h in hashes.items()) + "postmaster@example.test:$6$x$y\n"
    (p.root / "users").write_text(users)
    for attempt in range(3):
        try:
            p.start()
            break
        except AssertionError:
            # another process took one of the free ports before we bound it
            if attempt == 2 or "Address already in use" not in p.read_log():
                raise
            sub, smtps = free_port(), free_port()
            p.sections['listener "submission"']["address"] = f"127.0.0.1:{sub}"
            p.sections['listener "smtps"']["address"] = f"127.0.0.1:{smtps}"
            p.write_files()
            (p.root / "users").write_text(users)
    p.sub_port, p.smtps_port = sub, smtps
    return p


def client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def ehlo_lines(s):
    code, text = s.ehlo("client.example")
    assert code == 250
    return text.decode().upper().splitlines()


def test_auth_not_offered_before_starttls(tls_server):
    with smtplib.SMTP("127.0.0.1", tls_server.sub_port, timeout=IO_TIMEOUT) as s:
        lines = ehlo_lines(s)
        assert "STARTTLS" in lines
        assert not any(line.startswith("AUTH") for line in lines)
        code, msg = s.docmd("AUTH", "PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZS1zZWNyZXQ=")
        assert code == 503, msg
        code, msg = s.docmd("MAIL", "FROM:<alice@example.test>")
        assert (code, msg[:5]) == (530, b"5.7.0"), msg
        s.starttls(context=client_ctx())
        lines = ehlo_lines(s)
        assert "AUTH PLAIN LOGIN" in lines
        assert "STARTTLS" not in lines


def test_starttls_login_and_send(tls_server):
    msg = (b"Date: Sun, 22 Nov 2026 12:00:00 +0000\r\nMessage-ID: <m1@client.example>\r\n"
           b"Subject: submitted\r\n\r\nover TLS\r\n")
    with smtplib.SMTP("127.0.0.1", tls_server.sub_port, timeout=IO_TIMEOUT) as s:
        s.starttls(context=client_ctx())
        s.login("alice@example.test", PASSWORDS["alice@example.test"])
        assert s.sendmail("alice@example.test", ["bob@example.test"], msg) == {}
    [d] = tls_server.wait_delivered("bob")
    assert d.body == msg.replace(b"\r\n", b"\n")
    assert "with ESMTPSA (TLSv1.3" in d.received or "with ESMTPSA (TLSv1.2" in d.received, \
        d.received
    tls_server.wait_log(r'auth\.ok .*user="alice@example\.test"')
    assert PASSWORDS["alice@example.test"] not in tls_server.read_log()


def test_authenticated_may_relay_unauthenticated_may_not(tls_server):
    # implicit TLS listener with auth = optional: without AUTH, no relaying
    with smtplib.SMTP_SSL("127.0.0.1", tls_server.smtps_port, timeout=IO_TIMEOUT,
                          context=client_ctx()) as s:
        s.ehlo("client.example")
        code, _ = s.docmd("MAIL", "FROM:<someone@remote.example>")
        assert code == 250
        code, msg = s.docmd("RCPT", "TO:<user@remote.example>")
        assert (code, msg[:5]) == (554, b"5.7.1"), msg
    with smtplib.SMTP_SSL("127.0.0.1", tls_server.smtps_port, timeout=IO_TIMEOUT,
                          context=client_ctx()) as s:
        s.login("alice@example.test", PASSWORDS["alice@example.test"])
        assert s.sendmail("alice@example.test", ["user@remote.example"],
                          b"Subject: out\r\n\r\nx\r\n") == {}
    tls_server.wait_log(r"deliver\.remote to=<user@remote\.example> status=deferred")


def test_wrong_password_refused_and_slowed(tls_server):
    with smtplib.SMTP("127.0.0.1", tls_server.sub_port, timeout=IO_TIMEOUT) as s:
        s.starttls(context=client_ctx())
        s.ehlo("client.example")
        t0 = time.monotonic()
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login("alice@example.test", "Not-The-Passw0rd")
        first = time.monotonic() - t0
        assert e.value.smtp_code == 535 and e.value.smtp_error.startswith(b"5.7.8")
        t0 = time.monotonic()
        code, msg = s.docmd("AUTH", "PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABOb3QtVGhlLVBhc3N3MHJk")
        second = time.monotonic() - t0
        assert (code, msg[:5]) == (535, b"5.7.8"), msg
    # the delay doubles: about 1 s, then about 2 s (plus hashing time)
    assert first >= 0.9, first
    assert second >= 1.9, second
    log = tls_server.read_log()
    assert "auth.failed" in log and "Not-The-Passw0rd" not in log


def test_unknown_user_refused(tls_server):
    with smtplib.SMTP("127.0.0.1", tls_server.sub_port, timeout=IO_TIMEOUT) as s:
        s.starttls(context=client_ctx())
        s.ehlo("client.example")
        with pytest.raises(smtplib.SMTPAuthenticationError):
            s.login("nobody@example.test", "x")


def test_sender_must_be_owned(tls_server):
    with smtplib.SMTP("127.0.0.1", tls_server.sub_port, timeout=IO_TIMEOUT) as s:
        s.starttls(context=client_ctx())
        s.login("alice@example.test", PASSWORDS["alice@example.test"])
        code, msg = s.docmd("MAIL", "FROM:<bob@example.test>")
        assert (code, msg[:5]) == (553, b"5.7.1"), msg
        code, msg = s.docmd("MAIL", "FROM:<alice.alias@example.test>")
        assert code == 250, msg
        s.rset()
        code, msg = s.docmd("MAIL", "FROM:<ALICE@example.test>")
        assert code == 250, msg


def test_pipelined_commands_after_starttls_are_discarded(tls_server):
    sock = socket.create_connection(("127.0.0.1", tls_server.sub_port), timeout=IO_TIMEOUT)
    f = sock.makefile("rb")
    assert f.readline().startswith(b"220")
    sock.sendall(b"EHLO client.example\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    sock.sendall(b"STARTTLS\r\nRSET\r\nMAIL FROM:<x@remote.example>\r\n")
    assert f.readline().startswith(b"220 2.0.0")
    tls = client_ctx().wrap_socket(sock, server_hostname=HOSTNAME)
    tf = tls.makefile("rb")
    tls.sendall(b"QUIT\r\n")
    first = tf.readline()
    assert first.startswith(b"221"), f"a pipelined command ran after the handshake: {first!r}"
    tls.close()


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks not installed")
@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_swaks_tls_auth(tls_server, mech):
    out = subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{tls_server.sub_port}", "--tls", "--auth", mech,
         "--auth-user", "bob@example.test", "--auth-password", PASSWORDS["bob@example.test"],
         "--from", "bob@example.test", "--to", "alice@example.test", "--body", f"via {mech}",
         "--timeout", "20"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "235 2.7.0" in out.stdout
    delivered = tls_server.wait_delivered("alice")
    assert any(f"via {mech}".encode() in d.body for d in delivered)


def test_openssl_s_client_shows_certificate(tls_server):
    out = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{tls_server.sub_port}",
         "-starttls", "smtp", "-brief"], input="QUIT\n", capture_output=True, text=True,
        timeout=30)
    text = out.stdout + out.stderr
    assert f"CN = {HOSTNAME}" in text or f"CN={HOSTNAME}" in text, text
    assert "TLSv1.3" in text or "TLSv1.2" in text, text


def test_failed_handshake_closes_only_that_session(tls_server):
    sock = socket.create_connection(("127.0.0.1", tls_server.smtps_port), timeout=IO_TIMEOUT)
    sock.sendall(b"EHLO this is not TLS\r\n\r\n")
    sock.settimeout(IO_TIMEOUT)
    try:
        data = sock.recv(4096)
    except (ConnectionResetError, socket.timeout):
        data = b""
    sock.close()
    assert b"250" not in data
    tls_server.wait_log(r"tls\.handshake_failed")
    with smtplib.SMTP("127.0.0.1", tls_server.port, timeout=IO_TIMEOUT) as s:
        assert s.noop()[0] == 250


def test_tls_older_than_1_2_refused(tls_server):
    ctx = client_ctx()
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
        with smtplib.SMTP_SSL("127.0.0.1", tls_server.smtps_port, timeout=IO_TIMEOUT,
                              context=ctx) as s:
            s.noop()


def test_submission_adds_missing_date_and_message_id(tls_server):
    bare = b"Subject: no date\r\n\r\nbody\r\n"
    full = (b"Date: Mon, 02 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x1@client.example>\r\n"
            b"Subject: complete\r\n\r\nbody\r\n")
    with smtplib.SMTP("127.0.0.1", tls_server.sub_port, timeout=IO_TIMEOUT) as s:
        s.starttls(context=client_ctx())
        s.login("alice@example.test", PASSWORDS["alice@example.test"])
        s.sendmail("alice@example.test", ["bob@example.test"], bare)
        s.sendmail("alice@example.test", ["bob@example.test"], full)
    got = {d.body.split(b"Subject: ")[1].split(b"\n")[0]: d
           for d in tls_server.wait_delivered("bob", count=2)}
    added = got[b"no date"].body
    assert added.startswith(b"Date: "), added
    assert b"\nMessage-ID: <" in added.split(b"\n\n")[0], added
    assert added.endswith(b"Subject: no date\n\nbody\n"), added
    assert got[b"complete"].body == full.replace(b"\r\n", b"\n")
    # the MX listener stores what it is given
    with smtplib.SMTP("127.0.0.1", tls_server.port, timeout=IO_TIMEOUT) as s:
        s.sendmail("x@remote.example", ["alice@example.test"], bare)
    [d] = tls_server.wait_delivered("alice")
    assert d.body == bare.replace(b"\r\n", b"\n")


def test_ehlo_right_behind_the_tls13_handshake(postino_factory, tmp_path):
    """A client that sends EHLO in the same flight as its TLS 1.3 Finished
    (bench/tls-source does; Python's ssl is too slow to) must get its reply:
    libevent can deliver that EHLO before it reports the handshake done."""
    src = Path(__file__).resolve().parents[2] / "bench" / "tls-source.c"
    exe = tmp_path / "tls-source"
    r = subprocess.run(["cc", "-O2", "-o", str(exe), str(src), "-lssl", "-lcrypto", "-lpthread"],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        pytest.skip(f"cannot build bench/tls-source.c: {r.stderr[:300]}")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", f"/CN={HOSTNAME}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True,
                   timeout=30)
    p = postino_factory(config={"tls": {"cert": str(cert), "key": str(key)},
                                'listener "mx"': {"tls": "starttls"}})
    out = subprocess.run([str(exe), "-V", "1.3", "-T", "5", "-s", "2", "-m", "60", "-l", "1000",
                          "-f", "s@remote.example", "-t", "alice@example.test",
                          f"127.0.0.1:{p.port}"], capture_output=True, text=True, timeout=120)
    assert "messages=60" in out.stdout and "errors=0" in out.stdout, out.stdout + out.stderr
    p.wait_delivered("alice", count=60)
