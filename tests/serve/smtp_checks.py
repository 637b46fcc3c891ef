#!/usr/bin/env python3
"""The Python smtplib checks of tests/serve/clients.sh, against a running
`throttlesim serve` (STARTTLS, the certificate from --write-cert).

    smtp_checks.py CHECK --port N --cafile CERT.pem

CHECK is one of plain, concurrency, rate, recipients, sendas, tls11 (the
mailboxes are those of the scenarios clients.sh writes).  Each prints one
line per assertion, "ok   ...", "FAIL ..." or "skip ...", and the exit
status is the number of failures (capped at 100).  Standard library only:
smtplib, ssl, socket.
"""
import argparse
import base64
import smtplib
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings

PASSWORD = "pw"
EXTERNAL = "fabrikam.com"  # not a mailbox domain of the scenario: recipients are external

failures = 0


def ok(what):
    print("ok   python smtplib: " + what, flush=True)


def fail(what, detail):
    global failures
    failures += 1
    print("FAIL python smtplib: %s (%s)" % (what, detail), flush=True)


def skip(what, why):
    print("skip python smtplib: %s (%s)" % (what, why), flush=True)


def expect(what, got, want):
    """got/want: (code, enhanced) pairs, or anything comparable."""
    if got == want:
        ok("%s -> %s" % (what, fmt(got)))
    else:
        fail(what, "expected %s, got %s" % (fmt(want), fmt(got)))


def fmt(x):
    if isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], int):
        return "%d %s" % x
    if isinstance(x, tuple) and len(x) == 3 and isinstance(x[0], int):
        return "%d %s at %s" % x
    return str(x)


def enh(text):
    """The enhanced code at the start of a reply text (bytes or str)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return text.split(" ", 1)[0] if text else ""


def message(mailbox, msgid, rcpts, from_header=None, body_lines=3):
    lines = [
        "From: %s" % (from_header or mailbox),
        "To: %s" % rcpts[0],
        "Subject: smtplib check %s" % msgid,
        "Message-ID: <%s>" % msgid,
        "Date: Mon, 01 Jun 2026 00:00:00 +0000",
        "",
    ] + ["line %d of the body" % i for i in range(body_lines)]
    return "\r\n".join(lines) + "\r\n"


class Ctx:
    def __init__(self, port, cafile):
        self.port = port
        self.cafile = cafile

    def tls(self):
        c = ssl.create_default_context(cafile=self.cafile)
        return c

    def connect(self, user, password=PASSWORD, login=True):
        """STARTTLS (the certificate verified: it names 127.0.0.1), then AUTH LOGIN."""
        s = smtplib.SMTP("127.0.0.1", self.port, timeout=30)
        s.ehlo("client.test")
        s.starttls(context=self.tls())
        s.ehlo("client.test")
        if login:
            s.login(user, password)
        return s


def submit(ctx, mailbox, msgid, rcpts=None, from_header=None, envelope=None):
    """One message on a fresh session: (code, enhanced, stage).  The stage
    is where the refusal came: auth, mail, rcpt, data (the reply to DATA)
    or end_of_data."""
    rcpts = rcpts or ["x@" + EXTERNAL]
    try:
        s = ctx.connect(mailbox)
    except smtplib.SMTPAuthenticationError as e:
        return (e.smtp_code, enh(e.smtp_error), "auth")
    try:
        code, text = s.mail(envelope or mailbox)
        if code != 250:
            return (code, enh(text), "mail")
        for r in rcpts:
            code, text = s.rcpt(r)
            if code not in (250, 251):
                return (code, enh(text), "rcpt")
        code, text = s.data(message(mailbox, msgid, rcpts, from_header))
        return (code, enh(text), "end_of_data")
    except smtplib.SMTPDataError as e:  # the reply to DATA itself
        return (e.smtp_code, enh(e.smtp_error), "data")
    finally:
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            pass


# ---- AUTH PLAIN (accepted though only LOGIN and XOAUTH2 are advertised) --------

def check_plain(ctx):
    s = ctx.connect("plain@contoso.com", login=False)
    advertised = s.esmtp_features.get("auth", "")
    if advertised.split() == ["LOGIN", "XOAUTH2"]:
        ok("EHLO after STARTTLS advertises AUTH LOGIN XOAUTH2")
    else:
        fail("EHLO after STARTTLS advertises AUTH LOGIN XOAUTH2", "got %r" % advertised)
    # smtplib's auth() sends the mechanism named without looking at EHLO
    s.user, s.password = "plain@contoso.com", PASSWORD
    try:
        code, text = s.auth("PLAIN", s.auth_plain)
    except smtplib.SMTPAuthenticationError as e:
        code, text = e.smtp_code, e.smtp_error
    expect("AUTH PLAIN (not advertised)", (code, enh(text)), (235, "2.7.0"))
    s.mail("plain@contoso.com")
    s.rcpt("x@" + EXTERNAL)
    code, text = s.data(message("plain@contoso.com", "plain-1@clients.test", ["x@" + EXTERNAL]))
    expect("a message after AUTH PLAIN, at end of data", (code, enh(text)), (250, "2.0.0"))
    s.quit()


# ---- (a) 432 4.3.2: a fourth submission while three are in progress ----------

def check_concurrency(ctx):
    mbx = "conc@contoso.com"
    holders = []
    for i in range(3):
        s = ctx.connect(mbx)
        s.mail(mbx)
        s.rcpt("x@" + EXTERNAL)
        s.putcmd("data")
        code, text = s.getreply()
        if code != 354:
            fail("holder %d: DATA" % (i + 1), "expected 354, got %d %r" % (code, text))
            return
        # the body, all but the final dot: the submission stays in progress
        s.send(message(mbx, "conc-hold-%d@clients.test" % i, ["x@" + EXTERNAL]).encode())
        holders.append(s)
    ok("three clients hold after DATA's 354 (body sent, no final dot)")

    s = ctx.connect(mbx)
    try:
        s.sendmail(mbx, ["x@" + EXTERNAL], message(mbx, "conc-fourth@clients.test", ["x@" + EXTERNAL]))
        fail("fourth client at end of data", "expected SMTPDataError 432 4.3.2, the message was accepted")
    except smtplib.SMTPDataError as e:
        text = e.smtp_error.decode("utf-8", "replace")
        if e.smtp_code == 432 and "4.3.2" in text:
            ok("fourth client at end of data -> SMTPDataError 432 %s" % text[:40])
        else:
            fail("fourth client at end of data", "expected 432 with 4.3.2, got %d %s" % (e.smtp_code, text))
    # 432 closes the connection
    try:
        s.noop()
        fail("432 closes the connection", "NOOP was answered")
    except (smtplib.SMTPServerDisconnected, OSError):
        ok("432 closes the connection")
    s.close()

    # the three held submissions now end: each sees two others at most
    for i, h in enumerate(holders):
        h.send(b".\r\n")
        code, text = h.getreply()
        expect("holder %d final dot" % (i + 1), (code, enh(text)), (250, "2.0.0"))
        h.quit()


# ---- (b) 450 4.7.0: the 31st message in a minute (reject mode) ---------------

def check_rate(ctx):
    mbx = "rated@contoso.com"
    s = ctx.connect(mbx)
    codes = []
    t0 = time.monotonic()
    for i in range(30):
        r = s.sendmail(mbx, ["x@" + EXTERNAL], message(mbx, "rate-%d@clients.test" % i, ["x@" + EXTERNAL]))
        codes.append(250 if not r else r)
    if codes == [250] * 30:
        ok("30 messages in %.1f s -> 250 each" % (time.monotonic() - t0))
    else:
        fail("30 messages in a minute", "not all 250: %r" % codes)
    try:
        s.sendmail(mbx, ["x@" + EXTERNAL], message(mbx, "rate-30@clients.test", ["x@" + EXTERNAL]))
        fail("31st message in the minute", "expected 450 4.7.0, the message was accepted")
    except smtplib.SMTPDataError as e:
        expect("31st message in the minute, at end of data", (e.smtp_code, enh(e.smtp_error)), (450, "4.7.0"))
    except smtplib.SMTPSenderRefused as e:
        fail("31st message in the minute", "refused at MAIL FROM: %d %r" % (e.smtp_code, e.smtp_error))
    try:
        s.quit()
    except (smtplib.SMTPException, OSError):
        pass


# ---- (c) 554 5.2.0: the 10,001st recipient in 24 h, on a scaled clock --------

def check_recipients(ctx, scale):
    """serve runs with --time-scale SCALE (8640: 24 h of the model in 10 s).
    Waits: the 20 messages take about 1-3 s; the probe before the roll
    sleeps until 8.5 s after the first message began (20.4 model hours);
    the one after until 11.5 s after it ended (27.6 model hours): about
    12 s in all."""
    mbx = "bulk@contoso.com"
    window_wall = 24 * 3600 / scale
    rcpts = ["r%03d@%s" % (i, EXTERNAL) for i in range(500)]
    s = ctx.connect(mbx)
    first_begin = time.monotonic()
    first_end = None
    refused = []
    for i in range(20):
        r = s.sendmail(mbx, rcpts, message(mbx, "bulk-%d@clients.test" % i, rcpts))
        if r:
            refused.append((i, len(r)))
        if first_end is None:
            first_end = time.monotonic()
    s.quit()
    took = time.monotonic() - first_begin
    if refused:
        fail("20 messages x 500 recipients", "recipients refused: %r" % refused)
    else:
        ok("20 messages x 500 recipients accepted (%.1f s wall, %.1f model hours)" % (took, took * scale / 3600))
    if took > 0.7 * window_wall:
        fail("time scaling", "the 20 messages took %.1f s, too close to the %.0f s window" % (took, window_wall))
        return
    got = submit(ctx, mbx, "bulk-20@clients.test", ["over@" + EXTERNAL])
    expect("message 21 (the 10,001st recipient in 24 h)", got, (554, "5.2.0", "end_of_data"))

    # still inside the window of the first message: still refused
    time.sleep(max(0.0, first_begin + 0.85 * window_wall - time.monotonic()))
    got = submit(ctx, mbx, "bulk-21@clients.test", ["over@" + EXTERNAL])
    expect("%.1f s after the first (%.1f model hours): still" % (0.85 * window_wall, 0.85 * 24), got,
           (554, "5.2.0", "end_of_data"))

    # the first message's 500 recipients have left the rolling 24 h window
    time.sleep(max(0.0, first_end + 1.15 * window_wall - time.monotonic()))
    got = submit(ctx, mbx, "bulk-22@clients.test", ["late@" + EXTERNAL])
    expect("%.1f s after the first (%.1f model hours): the window rolled" % (1.15 * window_wall, 1.15 * 24),
           got, (250, "2.0.0", "end_of_data"))


# ---- (d) send-as errors: 550 5.7.60 x10, then 550 5.2.252 for the mailbox -----

def check_sendas(ctx):
    mbx = "sendas@contoso.com"
    got = [submit(ctx, mbx, "sendas-%d@clients.test" % i, from_header="ceo@contoso.com") for i in range(10)]
    want = [(550, "5.7.60", "end_of_data")] * 10
    if got == want:
        ok("ten messages with From: ceo@contoso.com -> 550 5.7.60 at end of data each")
    else:
        fail("ten send-as errors", "expected 550 5.7.60 x10, got %r" % got)
    expect("a well-behaved message on the same mailbox (throttled 1 h)",
           submit(ctx, mbx, "sendas-good@clients.test"), (550, "5.2.252", "end_of_data"))
    expect("a message on another mailbox", submit(ctx, "other@contoso.com", "other-1@clients.test"),
           (250, "2.0.0", "end_of_data"))


# ---- (e) TLS 1.1 -> 421 4.7.66 at AUTH, the connection closed ------------------

def tls11_context():
    warnings.simplefilter("ignore", DeprecationWarning)
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    c.minimum_version = ssl.TLSVersion.TLSv1
    c.maximum_version = ssl.TLSVersion.TLSv1_1
    c.set_ciphers("DEFAULT:@SECLEVEL=0")
    return c


def closed(sock):
    try:
        sock.settimeout(5)
        return sock.recv(64) == b""
    except (ssl.SSLError, ConnectionError):
        return True
    except socket.timeout:
        return False


def check_tls11(ctx):
    what = "TLS 1.1 client"
    s = smtplib.SMTP("127.0.0.1", ctx.port, timeout=30)
    s.ehlo("client.test")
    try:
        s.starttls(context=tls11_context())
    except ssl.SSLError as e:
        s.close()
        return tls11_openssl(ctx, "smtplib could not make a TLS 1.1 handshake: %s" % e)
    version = s.sock.version()
    if version != "TLSv1.1":
        return fail(what, "negotiated %s" % version)
    ok("%s: STARTTLS handshake is %s" % (what, version))
    s.ehlo("client.test")
    plain = base64.b64encode(b"\0tls@contoso.com\0" + PASSWORD.encode()).decode()
    code, text = s.docmd("AUTH", "PLAIN " + plain)
    expect("%s: AUTH PLAIN" % what, (code, enh(text)), (421, "4.7.66"))
    if closed(s.sock):
        ok("%s: the connection is closed after the 421" % what)
    else:
        fail("%s: the connection is closed after the 421" % what, "still open 5 s later")
    s.close()


def tls11_openssl(ctx, why):
    """The fallback: openssl s_client -tls1_1."""
    print("note python smtplib: %s; trying openssl s_client -tls1_1" % why, flush=True)
    plain = base64.b64encode(b"\0tls@contoso.com\0" + PASSWORD.encode()).decode()
    try:
        p = subprocess.run(["openssl", "s_client", "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0",
                            "-starttls", "smtp", "-connect", "127.0.0.1:%d" % ctx.port, "-quiet",
                            "-ign_eof"],
                           input=("EHLO client.test\r\nAUTH PLAIN %s\r\n" % plain).encode(),
                           capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return skip("TLS 1.1 client", "neither smtplib nor openssl s_client can speak TLS 1.1 here: %s" % e)
    out = p.stdout.decode("utf-8", "replace")
    if "421 4.7.66" in out:
        ok("openssl s_client -tls1_1: AUTH PLAIN -> 421 4.7.66")
    elif "handshake failure" in p.stderr.decode("utf-8", "replace") or "no protocols" in \
            p.stderr.decode("utf-8", "replace"):
        skip("TLS 1.1 client", "neither smtplib nor openssl s_client can speak TLS 1.1 here")
    else:
        fail("openssl s_client -tls1_1: AUTH PLAIN", "expected 421 4.7.66, got %r" % out[-300:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("check", choices=["plain", "concurrency", "rate", "recipients", "sendas", "tls11"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--scale", type=float, default=1.0)
    a = ap.parse_args()
    ctx = Ctx(a.port, a.cafile)
    try:
        if a.check == "plain":
            check_plain(ctx)
        elif a.check == "concurrency":
            check_concurrency(ctx)
        elif a.check == "rate":
            check_rate(ctx)
        elif a.check == "recipients":
            check_recipients(ctx, a.scale)
        elif a.check == "sendas":
            check_sendas(ctx)
        else:
            check_tls11(ctx)
    except (smtplib.SMTPException, OSError) as e:
        fail(a.check, "unexpected %s: %s" % (type(e).__name__, e))
    sys.exit(min(failures, 100))


if __name__ == "__main__":
    main()
