"""DKIM keys in the webadmin console (issue 16): the API routes of
webadmin/dkim.c and the page htdocs/webadmin/js/pages/dkim.js.

- GET/POST/DELETE /api/domains/{d}/dkim[/{selector}]: a key made through
  the API is the files `youju dkim keygen` makes (mode 0600 key, owned by
  mail_owner), its record is the zone line `youju dkim show` prints, a
  second key under a new selector is a rotation, and after `youju reload`
  youju-mta signs with both; the signatures verify with dkimpy against the
  records the API gave.  Bad selectors and algorithms get 400, a taken
  selector 409, an unknown domain 404, no CSRF token 403; every change is
  in the audit log.
- The page in headless Chromium (webadmin_dkim_browser.py, run by
  /usr/bin/python3): generate, see the record, delete, both languages,
  screenshots in build/test-artifacts/webadmin-dkim/.
"""
import os
import pwd
import re
import shutil
import subprocess
import sys

from test_mta_dkim import (SYS_PY, _dkimpy_verify, _msg, _records, _submit)
from test_mta import USER, parse_queue_file, qmgr_paused, queued_file
from test_mta_restrictions import FakeDNS, _reload
from test_webadmin_api import ROOT, Client

HERE = os.path.dirname(os.path.abspath(__file__))
DOM = "extmail.org"


def _key_dir(inst):
    """An empty dkim_key_directory owned by mail_owner, as `youju dkim
    keygen` run by root leaves it."""
    kdir = inst.path("etc", "dkim")
    shutil.rmtree(kdir, ignore_errors=True)
    os.makedirs(kdir, 0o700)
    owner = inst.youju("conf", "-h", "mail_owner",
                       check=True).stdout.strip()
    if os.geteuid() == 0:
        pw = pwd.getpwnam(owner)
        os.chown(kdir, pw.pw_uid, pw.pw_gid)
    return kdir, owner


def test_webadmin_dkim_api(inst):
    kdir, owner = _key_dir(inst)
    c = Client(inst)
    assert c.login(*ROOT)[0] == 200
    base = f"/api/domains/{DOM}/dkim"
    st, j, _ = c.call("GET", base)
    assert (st, j) == (200, {"domain": DOM, "keys": []}), (st, j)
    dns = None
    try:
        st, k1, _ = c.call("POST", base, {"selector": "wa1"})
        assert st == 201, (st, k1)
        assert k1["selector"] == "wa1" and k1["algorithm"] == "rsa", k1
        assert k1["name"] == f"wa1._domainkey.{DOM}", k1
        assert k1["txt"].startswith("v=DKIM1; k=rsa; p=MII"), k1
        # the same line `youju dkim show` prints
        show = inst.youju("dkim", "show", DOM, check=True).stdout
        assert show.strip() == k1["record"], (show, k1["record"])
        key = os.path.join(kdir, f"{DOM}.wa1.key")
        st_ = os.stat(key)
        assert st_.st_mode & 0o777 == 0o600, oct(st_.st_mode)
        if os.geteuid() == 0:
            assert pwd.getpwuid(st_.st_uid).pw_name == owner
        # errors
        for body, code, field in (
                ({"selector": "wa1"}, 409, "selector"),
                ({"selector": "Bad!"}, 400, "selector"),
                ({"selector": "a.b"}, 400, "selector"),
                ({"algorithm": "dsa"}, 400, "algorithm"),
                ({"selector": "x", "other": 1}, 400, "other")):
            st, j, _ = c.call("POST", base, body)
            assert st == code and j["error"]["field"] == field, (body, st, j)
        st, j, _ = c.call("POST", "/api/domains/nosuch.example/dkim", {})
        assert st == 404, (st, j)
        st, j, _ = c.call("POST", base, {"selector": "nocsrf"}, csrf=False)
        assert st == 403, (st, j)
        assert not os.path.exists(os.path.join(kdir, f"{DOM}.nocsrf.key"))

        # rotation: a second key, Ed25519, selector named by the month
        st, k2, _ = c.call("POST", base, {"algorithm": "ed25519"})
        assert st == 201, (st, k2)
        assert re.fullmatch(r"y\d{6}e", k2["selector"]), k2
        assert k2["txt"].startswith("v=DKIM1; k=ed25519; p="), k2
        st, j, _ = c.call("GET", base)
        assert [k["selector"] for k in j["keys"]] == ["wa1", k2["selector"]]

        # youju-mta signs with both after a reload; both verify against
        # the records the console showed
        dns = FakeDNS([(n, ("TXT", *s)) for n, s in
                       _records(k1["record"] + "\n" + k2["record"])])
        _reload(inst)
        since = inst.log_size()
        s = _submit(inst)
        with qmgr_paused(inst):
            s.mail(USER)
            s.rcpt("friend@example.com")
            code, reply = s.data(_msg(USER, "console key"))
            assert code == 250, reply
            s.quit()
            m = inst.wait_log(r"(\w+): dkim: signed, d=extmail\.org, "
                              r"signatures=2", since=since)
            _, msg = parse_queue_file(queued_file(inst, m.group(1)))
        rc, out = _dkimpy_verify(msg.replace(b"\n", b"\r\n"), dns.port)
        assert rc == 0, out

        # retire the first key
        st, j, _ = c.call("DELETE", f"{base}/wa1")
        assert st == 200, (st, j)
        assert not os.path.exists(key)
        assert not os.path.exists(os.path.join(kdir, f"{DOM}.wa1.pub"))
        st, j, _ = c.call("DELETE", f"{base}/wa1")
        assert st == 404, (st, j)
        st, j, _ = c.call("GET", base)
        assert [k["selector"] for k in j["keys"]] == [k2["selector"]]
        st, j, _ = c.call("GET", f"/api/audit?q={DOM}/wa1")
        assert st == 200, (st, j)
        acts = {(r["action"], r["object"]) for r in j["items"]}
        assert ("dkim.create", f"{DOM}/wa1") in acts, j
        assert ("dkim.delete", f"{DOM}/wa1") in acts, j
    finally:
        if dns is not None:
            dns.close()
        shutil.rmtree(kdir, ignore_errors=True)
        _reload(inst)


def test_webadmin_dkim_page_in_browser(inst):
    for path in (SYS_PY, "/usr/bin/chromium", "/usr/bin/chromedriver"):
        assert os.path.exists(path), f"{path} missing (run scripts/deps.sh)"
    kdir, _ = _key_dir(inst)
    env = dict(os.environ)
    for k in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(k, None)
    art = os.path.join(inst.srcdir, "build", "test-artifacts",
                       "webadmin-dkim")
    try:
        r = subprocess.run(
            [SYS_PY, os.path.join(HERE, "webadmin_dkim_browser.py"),
             "--url", f"http://127.0.0.1:{inst.ports['webadmin']}",
             "--artifacts", art], capture_output=True, text=True, env=env,
            timeout=300)
        sys.stdout.write(r.stdout)
        assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-6000:])
        # what the page made is on disk, and was deleted again
        assert not os.path.exists(os.path.join(kdir, f"{DOM}.br1.key"))
        assert os.path.exists(os.path.join(kdir, f"{DOM}.br2.key"))
    finally:
        shutil.rmtree(kdir, ignore_errors=True)
