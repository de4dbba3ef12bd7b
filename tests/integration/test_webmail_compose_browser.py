"""youju-webmail's compose extras in a real browser (headless Chromium,
issue 12): the HTML editor, pasted and dropped images, priority, read
receipts, Ctrl+Enter, a draft's attachments and image previews.

The browser part is webmail_compose_browser.py, run with /usr/bin/python3
(Debian's python3-selenium belongs to the system interpreter); this
module makes the mailboxes and the mail.  Screenshots go to
build/test-artifacts/webmail-compose/ (git-ignored).
"""
import base64
import os
import subprocess
import sys

from test_imap_state import PASSWORD, user  # noqa: E402
from test_webmail_api import imap  # noqa: E402
from test_webmail_compose import png  # noqa: E402
from test_webmail_compose_extra import big_png, plain, related_msg  # noqa

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = "/usr/bin/python3"


def trip_msg(sender, img):
    b64 = base64.b64encode(img).decode()
    svg = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg">'
                           b'<circle r="5"/></svg>').decode()
    return (
        f"From: Bea <{sender}>\r\nTo: x@extmail.org\r\n"
        "Subject: Pictures from the trip\r\n"
        "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
        "Message-ID: <trip-1@b.example>\r\n"
        f"Disposition-Notification-To: Bea <{sender}>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
        "--m\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n"
        "--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Looking forward to it!\r\n"
        "--a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        "<p>Looking forward to it! <i>See the photo.</i></p>\r\n"
        "--a--\r\n"
        "--m\r\nContent-Type: image/png; name=\"beach.png\"\r\n"
        "Content-Disposition: attachment; filename=\"beach.png\"\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n"
        "--m\r\nContent-Type: image/svg+xml; name=\"map.svg\"\r\n"
        "Content-Disposition: attachment; filename=\"map.svg\"\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{svg}\r\n"
        "--m--\r\n").encode()


def test_webmail_compose_in_browser(inst):
    for path in (SYSTEM_PYTHON, "/usr/bin/chromium", "/usr/bin/chromedriver"):
        assert os.path.exists(path), f"{path} missing (run scripts/deps.sh)"
    addr = user(inst, "wmbrowse5")
    rcpt = user(inst, "wmbrowse6")
    img = png(40, 30, (30, 120, 200))
    m = imap(inst, addr)
    m.append("INBOX", "", None, trip_msg(rcpt, img))
    # forwarded together from the list; a reply quoting a large image
    m.append("INBOX", "", None, plain("Second note", "the second one"))
    m.append("INBOX", "", None, related_msg("big picture", big_png(),
                                            png(4, 4)))
    m.logout()
    imap(inst, rcpt).logout()
    env = dict(os.environ)
    for k in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(k, None)
    art = os.path.join(inst.srcdir, "build", "test-artifacts",
                       "webmail-compose")
    os.makedirs(art, exist_ok=True)
    pngfile = os.path.join(art, "input.png")
    with open(pngfile, "wb") as f:
        f.write(png(24, 24, (220, 140, 20)))
    cmd = [SYSTEM_PYTHON, os.path.join(HERE, "webmail_compose_browser.py"),
           "--url", f"http://127.0.0.1:{inst.ports['webmail']}",
           "--imap", str(inst.ports["imap"]), "--user", addr,
           "--password", PASSWORD, "--rcpt", rcpt,
           "--rcpt-password", PASSWORD, "--png", pngfile, "--artifacts", art]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                       timeout=600)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        raise AssertionError("webmail_compose_browser.py failed "
                             f"(status {r.returncode}):\n{r.stdout[-3000:]}"
                             f"\n{r.stderr[-6000:]}")
