#!/usr/bin/python3
"""A test milter on Debian's python3-milter (pymilter, Sendmail's libmilter
underneath), for tests/integration/test_milter_env.py.

    milter_py.py PORT LOGFILE

Listens on inet:PORT@127.0.0.1.  Writes one JSON line per message to
LOGFILE: the macros it saw at each step, the envelope and the headers.
At the end of the message it carries out what the message's
"X-Milter-Do:" header asks, space-separated:

    from=ADDR   change the envelope sender (smfi_chgfrom)
    add=ADDR    add a recipient (smfi_addrcpt)
    addpar=ADDR add a recipient with ESMTP arguments (smfi_addrcpt_par):
                those of the "X-Milter-Rcpt-Args:" header, else NOTIFY=NEVER
    fromargs=ADDR  change the envelope sender with the ESMTP arguments of
                the "X-Milter-From-Args:" header
    del=ADDR    delete a recipient (smfi_delrcpt)
    hdr=yes     add X-Py-Added:, change Subject:, insert X-Py-First: at 0
    body=yes    replace the body
It asks youju for {client_addr} and {client_port} at connect
(smfi_setsymlist), which are not in Postfix's default
milter_connect_macros.  (pymilter 1.0.5's Base.setsymlist and @symlist
hand libmilter bytes where it wants str on Python 3 and fail; the
context's own setsymlist is called instead.)
"""
import json
import sys

import Milter

PORT, LOG = int(sys.argv[1]), sys.argv[2]

STEP_MACROS = {
    "connect": ["j", "{daemon_name}", "{daemon_addr}", "v", "_",
                "{client_addr}", "{client_port}"],
    "helo": ["{tls_version}", "{cipher}", "{cipher_bits}",
             "{cert_subject}", "{cert_issuer}"],
    "mail": ["i", "{auth_type}", "{auth_authen}", "{auth_author}",
             "{mail_addr}", "{mail_host}", "{mail_mailer}"],
    "rcpt": ["i", "{rcpt_addr}", "{rcpt_host}", "{rcpt_mailer}"],
    "data": ["i"],
    "eoh": ["i"],
    "eom": ["i"],
}


class TestMilter(Milter.Base):
    def __init__(self):
        self.seen = {"rcpt": []}
        self.headers = []
        self.todo = ""
        self.rcpt_args = "NOTIFY=NEVER"
        self.from_args = ""

    def macros(self, step):
        out = {}
        for m in STEP_MACROS[step]:
            v = self.getsymval(m)
            if v is not None:
                out[m] = v
        return out

    def negotiate(self, opts):
        rc = Milter.Base.negotiate(self, opts)
        self._ctx.setsymlist(Milter.M_CONNECT,
                             "j {daemon_name} v {client_addr} {client_port}")
        return rc

    def connect(self, hostname, family, hostaddr):
        self.seen["connect"] = self.macros("connect")
        self.seen["client"] = [hostname, hostaddr[0]]
        return Milter.CONTINUE

    def hello(self, helo):
        self.seen["helo"] = self.macros("helo")
        self.seen["helo_name"] = helo
        return Milter.CONTINUE

    def envfrom(self, mailfrom, *params):
        self.seen["mail"] = self.macros("mail")
        self.seen["mail_from"] = mailfrom
        return Milter.CONTINUE

    def envrcpt(self, to, *params):
        self.seen["rcpt"].append(self.macros("rcpt"))
        return Milter.CONTINUE

    def data(self):
        self.seen["data"] = self.macros("data")
        return Milter.CONTINUE

    def header(self, name, value):
        self.headers.append([name, value])
        if name.lower() == "x-milter-do":
            self.todo = value
        elif name.lower() == "x-milter-rcpt-args":
            self.rcpt_args = value
        elif name.lower() == "x-milter-from-args":
            self.from_args = value
        return Milter.CONTINUE

    def eoh(self):
        self.seen["eoh"] = self.macros("eoh")
        return Milter.CONTINUE

    def eom(self):
        self.seen["eom"] = self.macros("eom")
        self.seen["headers"] = self.headers
        for op in self.todo.split():
            k, _, v = op.partition("=")
            if k == "from":
                self.chgfrom(f"<{v}>")
            elif k == "add":
                self.addrcpt(f"<{v}>")
            elif k == "addpar":
                self.addrcpt(f"<{v}>", self.rcpt_args)
            elif k == "fromargs":
                self.chgfrom(f"<{v}>", self.from_args)
            elif k == "del":
                self.delrcpt(f"<{v}>")
            elif k == "hdr":
                self.addheader("X-Py-Added", "yes")
                self.chgheader("Subject", 1, "changed by pymilter")
                self.addheader("X-Py-First", "top", 0)
            elif k == "body":
                self.replacebody(b"Body replaced by pymilter.\r\n")
        with open(LOG, "a") as f:
            f.write(json.dumps(self.seen) + "\n")
        return Milter.ACCEPT


def main():
    Milter.factory = TestMilter
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.CHGBODY |
                     Milter.ADDRCPT | Milter.ADDRCPT_PAR | Milter.DELRCPT |
                     Milter.CHGFROM | Milter.SETSYMLIST)
    sys.stdout.flush()
    Milter.runmilter("youju-test", f"inet:{PORT}@127.0.0.1", 60)


if __name__ == "__main__":
    main()
