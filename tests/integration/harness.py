"""A throw-away youju instance for the integration tests.

It lives in its own YOUJU_HOME under /tmp, listens on free loopback ports,
runs its own private MariaDB, and is torn down even when a test fails or the
run is interrupted.  Tests receive it as `inst` and talk to the daemons over
real sockets with real clients.
"""
import os
import pwd
import re
import shutil
import signal
import random
import socket
import subprocess
import tempfile
import time

# name in youju.cf -> key in Instance.ports
LISTENERS = {
    "smtp_listen": "smtp",
    "submission_listen": "submission",
    "smtps_listen": "smtps",
    "pop3_listen": "pop3",
    "pop3s_listen": "pop3s",
    "imap_listen": "imap",
    "imaps_listen": "imaps",
    "managesieve_listen": "managesieve",
    "webmail_listen": "webmail",
    "webadmin_listen": "webadmin",
}


_given_ports = set()


def free_port():
    """A loopback port free now, below the kernel's ephemeral range
    (32768-60999 by default), so that the outgoing connections made before
    the port is bound (clients, the MTA's deliveries) cannot take it as
    their local port; never the same port twice in one run."""
    for _ in range(1000):
        port = random.randint(20000, 32000)
        if port in _given_ports:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given_ports.add(port)
        return port
    raise RuntimeError("no free loopback port in 20000-32000")


def vmail_owner():
    """(uid, gid) of vmail when we run as root (and it exists), else
    None."""
    if os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam("vmail")
        return pw.pw_uid, pw.pw_gid
    except KeyError:
        return None


def wait_gone(pid, timeout=10):
    """True once process pid has gone, False after timeout seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def maildir_put(folder, name, data, sub="new"):
    """Writes message file name into the Maildir folder directory folder
    (made, with tmp/, new/ and cur/, owned by vmail when we are root) as a
    delivery agent does: into tmp/, then renamed into sub/.  Returns its
    path."""
    owner = vmail_owner()
    for s in ("", "tmp", "new", "cur"):
        os.makedirs(os.path.join(folder, s), exist_ok=True)
        if owner:
            os.chown(os.path.join(folder, s), *owner)
    tmp = os.path.join(folder, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(data)
    if owner:
        os.chown(tmp, *owner)
    path = os.path.join(folder, sub, name)
    os.rename(tmp, path)
    return path


def read_all(s, quiet=None):
    """All that socket s receives until the peer closes it or, with quiet,
    until quiet seconds pass without data."""
    if quiet is not None:
        s.settimeout(quiet)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return out
            out += d
    except socket.timeout:
        if quiet is None:
            raise
        return out


def unix_request(path, data, timeout=20, shut=False):
    """data sent to the Unix socket path (youju-authd's), with shut our
    side of the connection shut after it, and all it answers until it
    closes the connection."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        return read_all(s)


class Instance:
    def __init__(self, bindir, srcdir, keep=False, extra_conf=None):
        self.bindir = bindir
        self.srcdir = srcdir
        self.keep = keep
        self.home = tempfile.mkdtemp(prefix="youju-test-")
        os.chmod(self.home, 0o755)  # the mysql and vmail users walk it
        self.ports = {v: free_port() for v in LISTENERS.values()}
        self.conf_path = os.path.join(self.home, "etc", "youju.cf")
        self.authd_socket = os.path.join(self.home, "run", "authdaemon",
                                         "socket")
        self.mysql_socket = os.path.join(self.home, "run", "mysqld",
                                         "mysqld.sock")
        self.env = dict(os.environ, YOUJU_HOME=self.home)
        # The daemons' stderr is /dev/null, so a sanitizer's report (and
        # the exit status 1 that follows it) would otherwise be seen only
        # as "process exit status 1, restarting" in the maillog: each
        # report goes to a file of its own here instead (written after
        # the daemons dropped to vmail: a sticky world-writable
        # directory), and run.py fails the test during which one appears.
        self.san_dir = os.path.join(self.home, "sanitizer")
        os.makedirs(self.san_dir)
        os.chmod(self.san_dir, 0o1777)
        # leak checks belong to the unit tests
        self.env.setdefault("ASAN_OPTIONS", "detect_leaks=0:log_path="
                            + os.path.join(self.san_dir, "asan"))
        self.env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:log_path="
                            + os.path.join(self.san_dir, "ubsan"))
        os.makedirs(os.path.dirname(self.conf_path))
        lines = ["# written by tests/integration/harness.py"]
        for name, key in LISTENERS.items():
            lines.append(f"{name} = 127.0.0.1:{self.ports[key]}")
        # every module's wrong passwords come from 127.0.0.1: authd's
        # penalty (1 s doubling, default cap 15 s) stays below the
        # clients' 15 s timeouts (docs/security.md)
        lines.append("authd_failure_delay_max = 8s")
        for k, v in (extra_conf or {}).items():
            lines.append(f"{k} = {v}")
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def sanitizer_reports(self, seen):
        """The sanitizer report files not in the set seen (which gets
        them), as [(name, text)]."""
        out = []
        for name in sorted(os.listdir(self.san_dir)):
            if name in seen:
                continue
            seen.add(name)
            try:
                with open(os.path.join(self.san_dir, name),
                          errors="replace") as f:
                    out.append((name, f.read()))
            except OSError as e:
                out.append((name, str(e)))
        return out

    # --- running -------------------------------------------------------
    def bin(self, name):
        return os.path.join(self.bindir, name)

    def youju(self, *args, input=None, check=False, timeout=60, env=None):
        e = dict(self.env)
        if env:
            e.update(env)
        return subprocess.run([self.bin("youju"), *args], input=input,
                              capture_output=True, text=True, env=e,
                              timeout=timeout, check=check)

    def start(self):
        r = self.youju("start", timeout=180)
        if r.returncode != 0:
            raise RuntimeError("youju start failed:\n" + r.stdout + r.stderr
                               + "\n--- maillog ---\n" + self.maillog()[-3000:])
        return r

    def stop(self):
        return self.youju("stop", timeout=120)

    def teardown(self):
        try:
            self.stop()
        except Exception:
            pass
        # whatever survived (a crashed stop) must not outlive the run:
        # the daemons' command lines do not name the instance, their
        # environment does
        subprocess.run(["pkill", "-9", "-f", self.home],
                       capture_output=True)
        self._kill_instance_processes()
        if not self.keep:
            shutil.rmtree(self.home, ignore_errors=True)

    def _kill_instance_processes(self):
        mark = ("YOUJU_HOME=" + self.home).encode()
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            if mark in env:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass

    # --- files ---------------------------------------------------------
    def path(self, *parts):
        return os.path.join(self.home, *parts)

    def maillog(self):
        try:
            with open(self.path("log", "maillog"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=10, since=0):
        """Waits until the maillog (from byte `since`) matches pattern."""
        deadline = time.time() + timeout
        rx = re.compile(pattern)
        while True:
            text = self.maillog()[since:]
            m = rx.search(text)
            if m:
                return m
            if time.time() > deadline:
                raise AssertionError(f"log never matched {pattern!r}; "
                                     f"tail:\n{text[-2000:]}")
            time.sleep(0.05)

    def log_size(self):
        try:
            return os.path.getsize(self.path("log", "maillog"))
        except FileNotFoundError:
            return 0

    # --- database ------------------------------------------------------
    def sql(self, query, db="extmail"):
        """Runs query as the database administrator; rows as str tuples."""
        user = "root" if os.geteuid() == 0 else os.environ.get("USER", "")
        r = subprocess.run(["mariadb", "--no-defaults",
                            f"--socket={self.mysql_socket}", f"-u{user}",
                            "-N", "-B", db, "-e", query],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"sql failed: {query}\n{r.stderr}")
        return [tuple(line.split("\t")) for line in r.stdout.splitlines()]

    def db_pid(self):
        with open(self.path("run", "mysqld", "mysqld.pid")) as f:
            return int(f.read().strip())

    def _script(self, action):
        r = subprocess.run(["sh", os.path.join(self.srcdir, "scripts",
                                               "instance.sh"), action],
                           capture_output=True, text=True, env=self.env,
                           timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"instance.sh {action}: {r.stdout}{r.stderr}")

    def stop_db(self):
        self._script("db-stop")

    def start_db(self):
        self._script("db-start")

    # --- daemons -------------------------------------------------------
    def daemon_pid(self, name):
        try:
            with open(self.path("run", f"{name}.pid")) as f:
                return int(f.read().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return 0

    def live_pid(self, name):
        """daemon_pid(name) while that process runs, else 0."""
        pid = self.daemon_pid(name)
        try:
            if pid > 0:
                os.kill(pid, 0)
                return pid
        except OSError:
            pass
        return 0

    def reload(self, name):
        os.kill(self.daemon_pid(name), signal.SIGHUP)
