"""A private Dovecot 2.3 (Debian's /usr/sbin/dovecot) for interoperability
tests and benchmarks: its own base_dir, state_dir, log and config under a
directory of ours, IMAP and POP3 on free loopback ports, users from a
passwd-file, mail_location maildir:~/Maildir, and the quota plugin with the
Maildir++ backend (quota = maildir), so it reads and writes the very files
youju does.  Started as root, the master drops the mail processes to the
uid/gid given per user (vmail), as youju-mra does.

Not a test module (no test_ prefix): tests/integration/test_mra_interop.py
and bench/mra/ import it.
"""
import os
import shutil
import socket
import subprocess
import time

import proctree
import harness
from harness import free_port

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"


class Dovecot:
    def __init__(self, root, users, extra="", imap_port=None, pop3_port=None):
        """root: our directory (created); users: [(name, password, uid,
        gid, home)]; extra: more dovecot.conf text appended at the end."""
        if not os.access(DOVECOT, os.X_OK):
            # deps.sh installs dovecot-imapd and dovecot-pop3d: a missing
            # binary is a broken set-up, never a reason to skip
            raise RuntimeError(f"{DOVECOT} missing (scripts/deps.sh)")
        self.root = root
        self.ports = {"imap": imap_port or free_port(),
                      "pop3": pop3_port or free_port()}
        self.conf = os.path.join(root, "dovecot.conf")
        self.log = os.path.join(root, "dovecot.log")
        for d in ("run", "state"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        os.chmod(root, 0o755)
        pwfile = os.path.join(root, "users")
        with open(pwfile, "w") as f:
            for name, password, uid, gid, home in users:
                f.write(f"{name}:{{PLAIN}}{password}:{uid}:{gid}::{home}::\n")
        os.chmod(pwfile, 0o644)
        # instance_name keeps our process titles and doveadm apart from
        # any system Dovecot and from other test runs
        self.name = f"youju-dovecot-{self.ports['imap']}"
        with open(self.conf, "w") as f:
            f.write(f"""# written by tests/integration/dovecot_peer.py
instance_name = {self.name}
base_dir = {root}/run
state_dir = {root}/state
log_path = {self.log}
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 1
mail_location = maildir:~/Maildir
mail_plugins = quota
protocol imap {{
  mail_plugins = $mail_plugins imap_quota
}}
plugin {{
  quota = maildir:User quota
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {pwfile}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {pwfile}
}}
service imap-login {{
  inet_listener imap {{
    port = {self.ports['imap']}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {self.ports['pop3']}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
{extra}
""")

    def start(self, timeout=20):
        # the daemonized master keeps the descriptors it was given: a pipe
        # would never see EOF, so its start-up errors go to a file
        out = os.path.join(self.root, "start.out")
        with open(out, "w") as f:
            r = subprocess.run([DOVECOT, "-c", self.conf],
                               stdin=subprocess.DEVNULL, stdout=f,
                               stderr=subprocess.STDOUT, timeout=60)
        if r.returncode != 0:
            with open(out) as f:
                raise RuntimeError(f"dovecot: {f.read()}"
                                   + self.logtext()[-2000:])
        deadline = time.time() + timeout
        while True:
            try:
                with socket.create_connection(
                        ("127.0.0.1", self.ports["imap"]), timeout=2) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("dovecot did not start:\n"
                                   + self.logtext()[-2000:])
            time.sleep(0.1)

    def master_pid(self):
        try:
            with open(os.path.join(self.root, "run", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return 0

    def pids(self):
        """The master and all its descendants."""
        top = self.master_pid()
        return proctree.descendants(top) if top else []

    def stop(self):
        pid = self.master_pid()
        if not pid:
            return
        subprocess.run([DOVECOT, "-c", self.conf, "stop"],
                       capture_output=True, timeout=60)
        if harness.wait_gone(pid, 20):
            return
        for p in self.pids():
            try:
                os.kill(p, 9)
            except ProcessLookupError:
                pass

    def doveadm(self, *args):
        r = subprocess.run([DOVEADM, "-c", self.conf, *args],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)}: "
                               f"{r.stdout}{r.stderr}")
        return r.stdout

    def quota(self, user):
        """{"STORAGE": (KiB used, limit or None), "MESSAGE": (...)}."""
        out = {}
        for line in self.doveadm("-f", "tab", "quota", "get", "-u",
                                 user).splitlines()[1:]:
            f = line.split("\t")
            if len(f) >= 4:
                out[f[1]] = (int(f[2]), None if f[3] == "-" else int(f[3]))
        return out

    def logtext(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def remove(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
