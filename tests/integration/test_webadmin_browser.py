"""The webadmin console in a real browser (headless Chromium).

The browser part is webadmin_browser.py, run with /usr/bin/python3: Debian's
python3-selenium is importable only from the system interpreter, and the
harness may run on another one (pyenv).  Screenshots of every page, at 1280
and 360 px and in en_US and zh_CN, stay in build/test-artifacts/webadmin/
(git-ignored) for a person to look at.
"""
import glob
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = "/usr/bin/python3"


def _artifacts(inst):
    return os.path.join(inst.srcdir, "build", "test-artifacts", "webadmin")


def test_console_strings(inst):
    """Both languages have the same strings, and every string the scripts
    name literally (t('...')) exists."""
    root = os.path.join(inst.srcdir, "htdocs", "webadmin")
    langs = {}
    for name in ("en_US", "zh_CN"):
        with open(os.path.join(root, "i18n", name + ".json"),
                  encoding="utf-8") as f:
            langs[name] = json.load(f)
    en, zh = langs["en_US"], langs["zh_CN"]
    assert set(en) == set(zh), sorted(set(en) ^ set(zh))
    assert all(isinstance(v, str) and v for v in en.values())
    assert all(isinstance(v, str) and v for v in zh.values())
    used = set()
    for path in glob.glob(os.path.join(root, "js", "**", "*.js"),
                          recursive=True):
        with open(path, encoding="utf-8") as f:
            src = f.read()
        code = re.sub(r"^\s*//.*$", "", src, flags=re.M)   # comments
        used |= set(re.findall(r"\bt\('([a-z0-9_.]+)'", code))
        # the console never parses strings as HTML
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|"
                             r"document\.write", code), path
    # t('nav.' + x): a prefix that some strings must have
    missing = sorted(k for k in used if k not in en and not (
        k.endswith(".") and any(e.startswith(k) for e in en)))
    assert not missing, missing


def test_console_in_browser(inst):
    for path in (SYSTEM_PYTHON, "/usr/bin/chromium", "/usr/bin/chromedriver"):
        # scripts/deps.sh installs chromium, chromium-driver and
        # python3-selenium; a missing one is an error, not a skip
        assert os.path.exists(path), f"{path} missing (run scripts/deps.sh)"
    env = dict(os.environ)
    # the system interpreter must not pick up the harness's site-packages
    for k in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(k, None)
    cmd = [SYSTEM_PYTHON, os.path.join(HERE, "webadmin_browser.py"),
           "--url", f"http://127.0.0.1:{inst.ports['webadmin']}",
           "--smtp", str(inst.ports["smtp"]),
           "--imap", str(inst.ports["imap"]),
           "--artifacts", _artifacts(inst)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                       timeout=900)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        raise AssertionError("webadmin_browser.py failed "
                             f"(status {r.returncode}):\n{r.stdout[-3000:]}"
                             f"\n{r.stderr[-6000:]}")
    # the mailbox was deleted on its page with "remove its mail too": its
    # files (which got the test's mail) go, in the background
    home = inst.path("mailbox", "webui-test.example", "alice")
    # (the domain's directory, made by the delivery, stays: the path is right)
    assert os.path.isdir(os.path.dirname(home)), os.path.dirname(home)
    deadline = time.time() + 20
    while os.path.exists(home):
        assert time.time() < deadline, f"{home} still there after 20 s"
        time.sleep(0.2)
    leftovers = [n for n in os.listdir(inst.path("mailbox"))
                 if n.startswith(".purge-")]
    while leftovers:
        assert time.time() < deadline, f"purge left {leftovers}"
        time.sleep(0.2)
        leftovers = [n for n in os.listdir(inst.path("mailbox"))
                     if n.startswith(".purge-")]
