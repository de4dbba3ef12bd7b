"""webadmin shows whether a mailbox forwards (issue 15): an alias of the
mailbox's own address that sends mail elsewhere (with or without the
mailbox itself among its destinations), and redirects in the active Sieve
script (HOME/.dovecot.sieve), in the mailbox list and on the mailbox's
own record, over the JSON API and in a real browser."""
import os
import subprocess
import sys

from test_sieve import set_script  # noqa: E402
from test_webadmin_api import ok, root  # noqa: E402

DOM = "fwd.test"
HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = "/usr/bin/python3"


def test_forward_indicator(inst):
    c = root(inst)
    ok(c.call("POST", "/api/domains", {"domain": DOM, "maxusers": 10}), 201)
    for local in ("fwa", "fwb", "fwc", "fwd"):
        ok(c.call("POST", f"/api/domains/{DOM}/mailboxes",
                  {"uid": local, "password": "forward-pass-1"}), 201)
    # fwa: ExtMail-style forwarding, an alias of its own address
    inst.sql("INSERT INTO alias (address, goto, domain, createdate, active) "
             f"VALUES ('fwa@{DOM}', 'x@else.org', '{DOM}', NOW(), 1)")
    # fwd: an alias that keeps a copy too
    inst.sql("INSERT INTO alias (address, goto, domain, createdate, active) "
             f"VALUES ('fwd@{DOM}', 'fwd@{DOM},z@else.org', '{DOM}', NOW(), "
             "0)")
    # fwb: its Sieve script redirects (a copy), under a condition
    set_script(inst, "fwb",
               'require "copy";\nif header :contains "subject" "x" {\n'
               '  redirect :copy "y@else.org";\n}\n', dom=DOM)
    # fwc: a script without redirects
    set_script(inst, "fwc", 'require "fileinto";\nfileinto "A";\n',
               dom=DOM)
    j = ok(c.call("GET", f"/api/domains/{DOM}/mailboxes"))
    by = {m["username"]: m for m in j["items"]}
    assert by[f"fwa@{DOM}"]["forwards"] == {
        "alias": {"to": ["x@else.org"], "keep": False}}, by[f"fwa@{DOM}"]
    assert by[f"fwb@{DOM}"]["forwards"] == {
        "sieve": {"script": "main", "to": ["y@else.org"], "copy": True}}
    assert by[f"fwc@{DOM}"]["forwards"] is None
    # an inactive alias does not count
    assert by[f"fwd@{DOM}"]["forwards"] is None
    inst.sql(f"UPDATE alias SET active = 1 WHERE address = 'fwd@{DOM}'")
    m = ok(c.call("GET", f"/api/domains/{DOM}/mailboxes/fwd"))
    assert m["forwards"] == {"alias": {"to": ["z@else.org"], "keep": True}}
    inst.sql(f"UPDATE alias SET active = 0 WHERE address = 'fwd@{DOM}'")
    m = ok(c.call("GET", f"/api/domains/{DOM}/mailboxes/fwb"))
    assert m["forwards"]["sieve"]["to"] == ["y@else.org"], m

    # the same in a real browser
    for path in (SYSTEM_PYTHON, "/usr/bin/chromium", "/usr/bin/chromedriver"):
        assert os.path.exists(path), f"{path} missing (run scripts/deps.sh)"
    env = dict(os.environ)
    for k in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(k, None)
    art = os.path.join(inst.srcdir, "build", "test-artifacts", "webadmin")
    os.makedirs(art, exist_ok=True)
    r = subprocess.run(
        [SYSTEM_PYTHON, os.path.join(HERE, "webadmin_forwards_browser.py"),
         "--url", f"http://127.0.0.1:{inst.ports['webadmin']}",
         "--domain", DOM, "--artifacts", art],
        capture_output=True, text=True, env=env, timeout=300)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        raise AssertionError("webadmin_forwards_browser.py failed "
                             f"(status {r.returncode}):\n{r.stdout[-3000:]}"
                             f"\n{r.stderr[-6000:]}")
