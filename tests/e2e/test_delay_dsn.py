"""The single 'delayed' DSN (SPEC [delivery] warn_after; issue 4: NOTIFY=DELAY
a single 'delayed' DSN after warn_after): a recipient still being retried
once its message is older than warn_after gets exactly one RFC 3464 report
with Action: delayed, also across more attempts and a restart; none with
NOTIFY=NEVER or NOTIFY=FAILURE, none for a message from <>.

Real parts only: dnsmasq on loopback gives slow.test an MX on 127.0.0.21,
where an aiosmtpd sink answers 451 to every DATA."""

import email
import re
import subprocess
import time

import pytest
from aiosmtpd.controller import Controller

from conftest import dnsmasq_cmd, free_port, wait_for

SINK_HOST = "127.0.0.21"
DOMAIN = "slow.test"
WAIT = 15.0           # seconds for any one awaited event (ASan builds are slow)


class TempfailSink:
    """An SMTP server on SINK_HOST:port that answers 451 to every DATA."""

    def __init__(self, port):
        self.tries = 0
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.tries += 1
                return "451 4.3.0 mailbox busy, try later"

        self.ctl = Controller(Handler(), hostname=SINK_HOST, port=port)
        self.ctl.start()

    def stop(self):
        self.ctl.stop()


@pytest.fixture(scope="module")
def world():
    """DNS with slow.test's MX on the sink; the sink itself."""
    sink_port, dns_port = free_port(), free_port()
    records = [f"--mx-host={DOMAIN},mx.{DOMAIN},10", f"--host-record=mx.{DOMAIN},{SINK_HOST}"]
    proc = subprocess.Popen(dnsmasq_cmd(dns_port, records), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(0.2)
    sink = TempfailSink(sink_port)
    yield {"dns": dns_port, "sink_port": sink_port, "sink": sink}
    sink.stop()
    proc.terminate()
    proc.wait(timeout=10)


def server(postino_factory, world):
    return postino_factory(config={
        "relay": {"networks": "127.0.0.0/8"},
        "dns": {"resolver": f"127.0.0.1:{world['dns']}"},
        "delivery": {"remote_port": str(world["sink_port"]), "warn_after": "1s",
                     "retry_min": "1s", "retry_max": "2s", "queue_lifetime": "1h"},
    }, users=["sender", "postmaster"])


def send(p, sender, rcpts, params=""):
    """One message; NOTIFY and other RCPT parameters in params."""
    with p.connect() as c:
        c.greet()
        c.command(f"MAIL FROM:<{sender}>", 250)
        for r in rcpts:
            c.command(f"RCPT TO:<{r}>{' ' + params if params else ''}", 250)
        c.command("DATA", 354)
        c.send(b"Subject: slow one\r\n\r\nbody\r\n.\r\n")
        code, texts = c.reply()
        assert code == 250, texts
        c.command("QUIT", 221)
        return texts[-1].split()[-1]


def wait_attempts(p, qid, rcpt, count):
    """Wait until rcpt of qid was deferred count times (log lines)."""
    p.wait_log(rf"{qid} deliver\.remote to=<{re.escape(rcpt)}> status=deferred", timeout=WAIT,
               count=count)


def deferrals(p, qid, rcpt):
    return len(re.findall(rf"{qid} deliver\.remote to=<{re.escape(rcpt)}> status=deferred",
                          p.read_log()))


def delayed_report(p, qid):
    """The one report in sender's Maildir, checked as a 'delayed' DSN on qid."""
    [d] = p.wait_delivered("sender", timeout=WAIT)
    assert d.return_path == "<>"
    m = email.message_from_bytes(d.body)
    assert m.get_content_type() == "multipart/report", d.body[:500]
    assert m.get_param("report-type") == "delivery-status"
    assert m["Subject"].startswith("Delayed Mail"), m["Subject"]
    assert [part for part in m.walk() if part.get_content_type() == "message/delivery-status"]
    text = d.body.decode("utf-8", "replace")
    assert f"X-Postino-Queue-ID: {qid}" in text, text[:2000]
    assert "Action: failed" not in text
    return text


def assert_one_report(p):
    assert len(p.maildir_files("sender")) == 1, p.maildir_files("sender")
    assert len(re.findall(r"bounce\.queued", p.read_log())) == 1


def test_one_delayed_dsn_across_attempts_and_restart(postino_factory, world):
    p = server(postino_factory, world)
    a, b = f"a@{DOMAIN}", f"b@{DOMAIN}"
    qid = send(p, "sender@example.test", [a, b])
    text = delayed_report(p, qid)
    # both recipients became due in the same attempt: one report for both
    assert text.count("Action: delayed") == 2, text
    assert f"Final-Recipient: rfc822; {a}" in text
    assert f"Final-Recipient: rfc822; {b}" in text
    assert re.search(r"^Status: 4\.3\.0$", text, re.M), text
    assert "Diagnostic-Code: smtp; 451 4.3.0 mailbox busy" in text
    assert f"Remote-MTA: dns; mx.{DOMAIN}" in text
    assert re.search(r"^Will-Retry-Until: \S", text, re.M), text
    assert "Subject: slow one" in text      # the header section comes back

    # more attempts: still just the one report
    wait_attempts(p, qid, a, deferrals(p, qid, a) + 2)
    time.sleep(0.3)
    assert_one_report(p)

    # the flag survives a restart (persisted with the recipient's state)
    assert p.stop() == 0
    before = deferrals(p, qid, a)
    p.start()
    wait_attempts(p, qid, a, before + 2)
    time.sleep(0.3)
    assert_one_report(p)
    assert f"{qid} queue.done" not in p.read_log()   # still being retried


def test_notify_delay_gets_one(postino_factory, world):
    p = server(postino_factory, world)
    rcpt = f"d@{DOMAIN}"
    qid = send(p, "sender@example.test", [rcpt], "NOTIFY=DELAY")
    text = delayed_report(p, qid)
    assert "Action: delayed" in text
    wait_attempts(p, qid, rcpt, deferrals(p, qid, rcpt) + 1)
    time.sleep(0.3)
    assert_one_report(p)


@pytest.mark.parametrize("notify", ["NOTIFY=NEVER", "NOTIFY=FAILURE"])
def test_notify_without_delay_gets_none(postino_factory, world, notify):
    p = server(postino_factory, world)
    rcpt = f"n@{DOMAIN}"
    qid = send(p, "sender@example.test", [rcpt], notify)
    wait_attempts(p, qid, rcpt, 3)   # the second and third are past warn_after
    time.sleep(0.5)
    assert not p.maildir_files("sender")
    assert "bounce.queued" not in p.read_log()


def test_null_sender_gets_none(postino_factory, world):
    p = server(postino_factory, world)
    rcpt = f"z@{DOMAIN}"
    qid = send(p, "", [rcpt])
    wait_attempts(p, qid, rcpt, 3)
    time.sleep(0.5)
    # no report to <>, and no delay notice to postmaster either
    assert not p.all_delivered()
    assert "bounce.queued" not in p.read_log()
