"""check_dsn.py - read DSNs written by dsn_sample back with Python's email
package, an independent MIME parser: each must be a multipart/report of
report-type delivery-status whose message/delivery-status fields read back
as written, with the original (or its header section) as the third part.
Usage: check_dsn.py PATH-TO-dsn_sample"""
import email
import email.policy
import email.utils
import subprocess
import sys

SAMPLE = sys.argv[1]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def dsn(mode):
    raw = subprocess.run([SAMPLE, mode], check=True, capture_output=True).stdout
    check(b"\r" not in raw, f"{mode}: CR in output")
    check(all(len(line) <= 998 for line in raw.split(b"\n")), f"{mode}: line over 998")
    strict = email.message_from_bytes(raw, policy=email.policy.default)
    for name, value in strict.items():   # each header field as RFC 5322 structures it
        check(not value.defects, f"{mode}: {name}: {value.defects}")
    return raw, email.message_from_bytes(raw)


def check_structure(mode, msg, third):
    check(msg.get_content_type() == "multipart/report", f"{mode}: top type {msg.get_content_type()}")
    check(msg.get_param("report-type") == "delivery-status", f"{mode}: report-type")
    check(not msg.defects, f"{mode}: defects {msg.defects}")
    check(msg["Auto-Submitted"] == "auto-replied", f"{mode}: Auto-Submitted")
    check(msg["From"] == "Mail Delivery System <MAILER-DAEMON@mx.example.test>", f"{mode}: From")
    check(msg["To"] == "<alice@client.example>", f"{mode}: To")
    check(email.utils.parsedate_to_datetime(msg["Date"]).timestamp() == 1700000000, f"{mode}: Date")
    parts = msg.get_payload()
    types = [p.get_content_type() for p in parts]
    check(types == ["text/plain", "message/delivery-status", third], f"{mode}: parts {types}")
    for p in parts:
        check(not p.defects, f"{mode}: part defects {p.defects}")
    return parts


def check_status(mode, part, action, status):
    blocks = part.get_payload()
    check(len(blocks) == 2, f"{mode}: {len(blocks)} delivery-status blocks")
    per_msg, rcpt = blocks[0], blocks[1]
    check(per_msg["Reporting-MTA"] == "dns; mx.example.test", f"{mode}: Reporting-MTA")
    check(per_msg["Original-Envelope-Id"] == "QQ+314159", f"{mode}: Original-Envelope-Id")
    check(per_msg["Received-From-MTA"] == "dns; client.example", f"{mode}: Received-From-MTA")
    check(per_msg["X-Postino-Queue-ID"] == "0123456789ABCDEF", f"{mode}: queue id")
    check(rcpt["Action"] == action, f"{mode}: Action {rcpt['Action']}")
    check(rcpt["Status"] == status, f"{mode}: Status {rcpt['Status']}")
    check(rcpt["Remote-MTA"] == "dns; mx.outbound.test", f"{mode}: Remote-MTA")
    check(email.utils.parsedate_to_datetime(rcpt["Last-Attempt-Date"]).timestamp()
          == 1700000000 - 60, f"{mode}: Last-Attempt-Date")
    return rcpt


def main():
    raw, msg = dsn("failed-full")
    parts = check_structure("failed-full", msg, "message/rfc822")
    rcpt = check_status("failed-full", parts[1], "failed", "5.1.1")
    check(rcpt["Final-Recipient"] == "rfc822; bob@outbound.test", "Final-Recipient")
    check(rcpt["Original-Recipient"] == "rfc822; Bob+x@outbound.test", "Original-Recipient")
    diag = " ".join(str(rcpt["Diagnostic-Code"]).split())
    check(diag == "smtp; 550-5.1.1 The email account that you tried to reach does not exist. "
          "550 5.1.1 Please try double-checking the recipient's email address.",
          f"Diagnostic-Code {diag!r}")
    check(rcpt["Will-Retry-Until"] is None, "Will-Retry-Until in a failure")
    orig = parts[2].get_payload(0)
    check(orig["Subject"] == "Original subject", "returned Subject")
    check(orig.get_payload() == "Hello Bob,\n--a line that looks like a delimiter\n",
          f"returned body {orig.get_payload()!r}")
    check(msg["Subject"] == "Undelivered Mail Returned to Sender", "failed Subject")

    raw, msg = dsn("failed-hdrs")
    parts = check_structure("failed-hdrs", msg, "text/rfc822-headers")
    check_status("failed-hdrs", parts[1], "failed", "5.1.1")
    hdrs = parts[2].get_payload()
    check(hdrs.startswith("From: Alice <alice@client.example>\n") and "Hello Bob" not in hdrs
          and hdrs.rstrip("\n").endswith("Message-ID: <orig@client.example>"),
          f"headers part {hdrs!r}")

    raw, msg = dsn("delayed")
    parts = check_structure("delayed", msg, "text/rfc822-headers")
    rcpt = check_status("delayed", parts[1], "delayed", "4.4.1")
    check(email.utils.parsedate_to_datetime(rcpt["Will-Retry-Until"]).timestamp()
          == 1700000000 + 86400, "Will-Retry-Until")
    check(rcpt["Diagnostic-Code"] == "X-Postino; connect to mx.outbound.test: Connection refused",
          f"delayed Diagnostic-Code {rcpt['Diagnostic-Code']!r}")
    check(msg["Subject"] == "Delayed Mail (still being retried)", "delayed Subject")

    raw, msg = dsn("delivered")
    parts = check_structure("delivered", msg, "text/rfc822-headers")
    check_status("delivered", parts[1], "delivered", "2.0.0")
    check(msg["Subject"] == "Successful Mail Delivery Report", "delivered Subject")

    raw, msg = dsn("utf8")
    parts = check_structure("utf8", msg, "message/rfc822")
    rcpt = check_status("utf8", parts[1], "failed", "5.1.1")
    check(rcpt["Final-Recipient"] == "utf-8; jos\\x{E9}@outbound.test", "utf8 Final-Recipient")
    check(rcpt["Original-Recipient"] == "utf-8; jos\\x{E9}@outbound.test", "utf8 Original-Recipient")
    text = parts[0].get_payload(decode=True).decode(parts[0].get_content_charset())
    check("<jos\u00e9@outbound.test>: delivery failed" in text, "utf8 text part")

    for f in failures:
        print("FAIL:", f)
    print(f"{'ok' if not failures else 'FAILED'}: 5 DSNs read back")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
