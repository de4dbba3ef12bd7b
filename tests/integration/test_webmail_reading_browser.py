"""youju-webmail's reading options in a real browser (headless Chromium,
issue 12): remote images always for a sender, save to NetDisk, the
charset menu on the HTML part, "try local charset", the list's display
names.

The browser part is webmail_reading_browser.py, run with /usr/bin/python3
(Debian's python3-selenium belongs to the system interpreter); this
module makes the mailbox and the mail.  Screenshots go to
build/test-artifacts/webmail-reading/ (git-ignored).
"""
import base64
import os
import socket
import subprocess
import sys

from test_imap_state import PASSWORD, user  # noqa: E402
from test_webmail_api import imap  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = "/usr/bin/python3"
BIG5 = "繁體中文的郵件"
GB = "简体中文的邮件"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def head(subject, ctype, frm="a@b.example"):
    return (f"From: {frm}\r\nTo: x@extmail.org\r\nSubject: {subject}\r\n"
            "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: {ctype}\r\n\r\n").encode()


def test_webmail_reading_in_browser(inst):
    for path in (SYSTEM_PYTHON, "/usr/bin/chromium", "/usr/bin/chromedriver"):
        assert os.path.exists(path), f"{path} missing (run scripts/deps.sh)"
    addr = user(inst, "wmreadb")
    port = free_port()
    m = imap(inst, addr)
    m.append("INBOX", "", None, head(
        "sale", "text/html; charset=utf-8",
        "\"News, Daily\" <news@shop.example>") + (
        "<p>Big sale</p><img alt=\"logo\" "
        f"src=\"http://127.0.0.1:{port}/logo.png\">\r\n").encode())
    att = base64.b64encode("报告的内容\n".encode()).decode()
    m.append("INBOX", "", None, head(
        "report attached", "multipart/mixed; boundary=\"b\"") + (
        "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Disposition: attachment; "
        "filename*=UTF-8''%E6%8A%A5%E5%91%8A.txt\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{att}\r\n--b--\r\n"
    ).encode())
    m.append("INBOX", "", None, head(
        "mislabelled html", "text/html; charset=iso-8859-1")
        + f"<p>{BIG5}</p>\r\n".encode("big5"))
    m.append("INBOX", "", None, head("unlabelled", "text/plain")
             + GB.encode("gb18030") + b"\r\n")
    m.logout()
    env = dict(os.environ)
    for k in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(k, None)
    art = os.path.join(inst.srcdir, "build", "test-artifacts",
                       "webmail-reading")
    os.makedirs(art, exist_ok=True)
    cmd = [SYSTEM_PYTHON, os.path.join(HERE, "webmail_reading_browser.py"),
           "--url", f"http://127.0.0.1:{inst.ports['webmail']}",
           "--user", addr, "--password", PASSWORD, "--img-port", str(port),
           "--artifacts", art]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                       timeout=600)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        raise AssertionError("webmail_reading_browser.py failed "
                             f"(status {r.returncode}):\n{r.stdout[-3000:]}"
                             f"\n{r.stderr[-6000:]}")
