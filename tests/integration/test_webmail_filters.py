"""Settings, Filters in youju-webmail (issue 15) over its JSON API: the form
is stored as a generated Sieve script in the ManageSieve store and made
active, and delivery over SMTP then files, answers (vacation) and
forwards by it; bad forms are refused naming the field, CSRF is needed; a
hand-written active script is shown as text and never overwritten by the
form (409, and kept in the store when the user replaces it); a raw script
with an error is refused with its line; DELETE switches filtering off; at
the first login ExtMail's .mailfilter is imported once."""
import os
import pwd

from test_imap_state import user  # noqa: E402
from test_sieve import find, send, set_script  # noqa: E402
from test_webmail_api import Client, ok  # noqa: E402

DOM = "extmail.org"


def home(inst, local):
    return inst.path("mailbox", DOM, local)


def active_link(inst, local):
    p = os.path.join(home(inst, local), ".dovecot.sieve")
    return os.readlink(p) if os.path.lexists(p) else None


def login(inst, local):
    c = Client(inst)
    ok(c.login(user(inst, local)))
    return c


FORM = {
    "rules": [{"name": "sort", "match": "all",
               "conditions": [{"field": "subject", "op": "contains",
                               "value": "SortMe"}],
               "actions": [{"type": "fileinto", "value": "Sorted"},
                           {"type": "stop"}]},
              {"name": "pest", "conditions": [
                  {"field": "from", "op": "contains", "value": "pest@"}],
               "actions": [{"type": "reject", "value": "not wanted"}]}],
    "vacation": {"enabled": True, "subject": "Away now", "body":
                 "I am away.\nBack soon.", "days": 1},
    "forward": {"enabled": False, "to": [], "keep": True},
    "blacklist": ["spammer@example.com"],
    "whitelist": [],
}


def test_filters_form_delivery(inst):
    peer = user(inst, "wfpeer")
    c = login(inst, "wfuser")
    j = ok(c.call("GET", "/api/filters"))
    assert j["mode"] == "form" and j["active"] is False, j
    assert j["form"]["rules"] == [] and j["form"]["vacation"]["enabled"] \
        is False, j
    # CSRF is required
    st, j, _ = c.call("PUT", "/api/filters", {"form": FORM}, csrf=False)
    assert st == 403, (st, j)
    j = ok(c.call("PUT", "/api/filters", {"form": FORM}))
    assert j["mode"] == "form" and j["active"] is True, j
    assert j["form"]["rules"][0]["conditions"][0]["value"] == "SortMe"
    assert 'fileinto :create "Sorted"' in j["script"], j["script"]
    assert active_link(inst, "wfuser") == "sieve/youju-webmail.sieve"
    with open(os.path.join(home(inst, "wfuser"), "sieve",
                           "youju-webmail.sieve")) as f:
        assert f.read() == j["script"]

    # delivery follows the form: filed, answered once
    t1 = send(inst, "wfuser@" + DOM, sender=peer, subject="please SortMe")
    assert len(find(inst, "wfuser", t1, ".Sorted")) == 1
    assert find(inst, "wfuser", t1, timeout=0) == []
    replies = find(inst, "wfpeer", "Away now", timeout=20)
    assert len(replies) == 1, replies
    assert b"I am away." in replies[0][1]
    assert b"Auto-Submitted: auto-replied" in replies[0][1]
    t2 = send(inst, "wfuser@" + DOM, sender=peer, subject="other")
    assert len(find(inst, "wfuser", t2)) == 1
    # the black list drops
    t3 = send(inst, "wfuser@" + DOM, sender="spammer@example.com",
              subject="buy")
    assert find(inst, "wfuser", t3, timeout=3) == []

    # a bad form names the field; nothing changes
    bad = dict(FORM, rules=[{"actions": [{"type": "redirect",
                                          "value": "not an address"}]}])
    st, j, _ = c.call("PUT", "/api/filters", {"form": bad})
    assert st == 400 and j["error"]["field"] == \
        "form.rules[0].actions[0].value", (st, j)
    st, j, _ = c.call("PUT", "/api/filters", {"form": {"x": 1}})
    assert st == 400 and j["error"]["field"] == "form.x", (st, j)

    # edit (drop the rules and the auto-reply) and check delivery again
    j = ok(c.call("PUT", "/api/filters", {"form": dict(
        FORM, rules=[], vacation={"enabled": False})}))
    assert j["form"]["rules"] == [], j
    t4 = send(inst, "wfuser@" + DOM, sender=peer, subject="SortMe again")
    assert len(find(inst, "wfuser", t4)) == 1
    assert find(inst, "wfuser", t4, ".Sorted", timeout=0) == []

    # off
    j = ok(c.call("DELETE", "/api/filters"))
    assert j["active"] is False and j["mode"] == "form", j
    assert active_link(inst, "wfuser") is None


def test_filters_hand_written_script(inst):
    c = login(inst, "wfraw")
    hand = 'require "fileinto";\n# mine\nif true { fileinto "Mine"; }\n'
    set_script(inst, "wfraw", hand, name="thunderbird")
    j = ok(c.call("GET", "/api/filters"))
    assert j["mode"] == "raw" and j["name"] == "thunderbird", j
    assert j["script"] == hand
    # the form does not silently replace it
    st, j, _ = c.call("PUT", "/api/filters", {"form": FORM})
    assert st == 409 and j["error"]["code"] == "raw_script", (st, j)
    assert active_link(inst, "wfraw") == "sieve/thunderbird.sieve"
    # a raw script with an error is refused with its line
    st, j, _ = c.call("PUT", "/api/filters/raw",
                      {"script": 'require "fileinto";\nfilinto "x";\n'})
    assert st == 400 and j["error"]["code"] == "sieve" and \
        j["error"]["message"].startswith("line 2:"), (st, j)
    # a good one rewrites the active script
    hand2 = 'require "fileinto";\nif true { fileinto "Other"; }\n'
    j = ok(c.call("PUT", "/api/filters/raw", {"script": hand2}))
    assert j["mode"] == "raw" and j["script"] == hand2, j
    path = os.path.join(home(inst, "wfraw"), "sieve", "thunderbird.sieve")
    with open(path) as f:
        assert f.read() == hand2
    # replacing it by the form keeps the hand-written script in the store
    j = ok(c.call("PUT", "/api/filters", {"form": FORM, "replace": True}))
    assert j["mode"] == "form", j
    assert active_link(inst, "wfraw") == "sieve/youju-webmail.sieve"
    with open(path) as f:
        assert f.read() == hand2
    # the form's script edited by hand is no longer the form's
    gen = os.path.join(home(inst, "wfraw"), "sieve", "youju-webmail.sieve")
    with open(gen) as f:
        text = f.read()
    with open(gen, "w") as f:
        f.write(text.replace("discard;", "keep;"))
    j = ok(c.call("GET", "/api/filters"))
    assert j["mode"] == "raw" and j["name"] == "youju-webmail", j


MAILFILTER = """#MFMAILDROP=2
#*blacklist
##Name:lists
##From:
##Recipient:
##Subject:[devel]
##Folder:.Lists

if (($SUBJECT =~/.*\\[devel\\].*/))
{
  to "$HOME/Maildir/.Lists/."
}
to "$HOME/Maildir/."
"""


def test_filters_extmail_import_at_first_login(inst):
    local = "wfext"
    addr = user(inst, local)
    h = home(inst, local)
    # ExtMail's user had the folder the rule files into
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(h, "Maildir", ".Lists", d), exist_ok=True)
    with open(os.path.join(h, ".mailfilter"), "w") as f:
        f.write(MAILFILTER)
    with open(os.path.join(h, "Maildir", "blacklist.cf"), "w") as f:
        f.write("bad@example.com\n")
    if os.geteuid() == 0:
        pw = pwd.getpwnam("vmail")
        for root, dirs, files in os.walk(os.path.dirname(h)):
            for n in dirs + files + [""]:
                os.chown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)
    c = Client(inst)
    ok(c.login(addr))
    assert active_link(inst, local) == "sieve/extmail.sieve"
    j = ok(c.call("GET", "/api/filters"))
    assert j["mode"] == "raw" and j["name"] == "extmail", j
    assert 'fileinto "Lists"' in j["script"], j["script"]
    assert "bad@example.com" in j["script"]
    t = send(inst, addr, subject="[devel] patch")
    assert len(find(inst, local, t, ".Lists")) == 1
    # once: switched off and deleted, it does not come back
    ok(c.call("DELETE", "/api/filters"))
    os.unlink(os.path.join(h, "sieve", "extmail.sieve"))
    c2 = Client(inst)
    ok(c2.login(addr))
    assert not os.path.exists(os.path.join(h, "sieve", "extmail.sieve"))
    assert active_link(inst, local) is None
