"""A loopback SMTP server for the test modules: the far end of a relay
(transport smtp:[127.0.0.1]:PORT, relayhost).  One session loop for every
module; a module subclasses SmtpSink to refuse recipients (rcpt_reply),
to keep messages in its own shape (store) or to advertise extensions
(EHLO_EXT), and keeps only that rule.

    sink = SmtpSink(port)          # serving at once, on daemon threads
    m = sink.find(token)           # the stored message holding token
    sink.close()
"""
import socketserver
import threading
import time

HOST = "127.0.0.1"


class SmtpSink:
    NAME = "sink"
    QUEUED = "SINK"        # the queue ID in the reply to DATA
    EHLO_EXT = ()          # keywords after the name in the EHLO reply
    UNKNOWN_REPLY = "250 Ok"
    REFUSE_EMPTY_DATA = False  # DATA without an accepted RCPT: 554

    def __init__(self, port):
        self.port = port
        self.messages = []  # as store() keeps them; the data last
        self.conns = 0      # connections so far
        self.open = 0       # connections open now
        self.max_open = 0
        self.rsets = 0
        self.lock = threading.Lock()
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, text):
                self.wfile.write((text + "\r\n").encode())
                self.wfile.flush()

            def handle(self):
                with sink.lock:
                    sink.conns += 1
                    conn_no = sink.conns
                    sink.open += 1
                    sink.max_open = max(sink.max_open, sink.open)
                try:
                    sink._session(self, conn_no)
                finally:
                    with sink.lock:
                        sink.open -= 1

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server((HOST, port), Handler)
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    # --- what a module may change -------------------------------------------
    def rcpt_reply(self, addr):
        """The reply refusing addr, or None to accept it."""
        return None

    def store(self, conn_no, mail_from, rcpts, data):
        """Keeps a message (called before the reply to its DATA)."""
        with self.lock:
            self.messages.append((mail_from, rcpts, data))

    # --- the session ---------------------------------------------------------
    def _session(self, h, conn_no):
        h.reply(f"220 {self.NAME} ESMTP")
        mail_from, rcpts = None, []
        while True:
            line = h.rfile.readline()
            if not line:
                return
            cmd = line.decode("latin-1").rstrip("\r\n")
            verb = cmd[:4].upper()
            if verb in ("EHLO", "HELO"):
                lines = (self.NAME,) + tuple(self.EHLO_EXT)
                h.reply("\r\n".join(
                    ("250-" if i < len(lines) - 1 else "250 ") + x
                    for i, x in enumerate(lines)))
            elif verb == "MAIL":
                mail_from = cmd[10:].strip().strip("<>")
                rcpts = []
                h.reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                addr = cmd[8:].strip().strip("<>")
                refused = self.rcpt_reply(addr)
                if refused:
                    h.reply(refused)
                else:
                    rcpts.append(addr)
                    h.reply("250 2.1.5 Ok")
            elif verb == "DATA":
                if not rcpts and self.REFUSE_EMPTY_DATA:
                    h.reply("554 5.5.1 no valid recipients")
                    continue
                h.reply("354 go ahead")
                data = b""
                while True:
                    ln = h.rfile.readline()
                    if not ln or ln == b".\r\n":
                        break
                    if ln.startswith(b".."):
                        ln = ln[1:]
                    data += ln
                self.store(conn_no, mail_from, rcpts, data)
                h.reply(f"250 2.0.0 Ok: queued as {self.QUEUED}")
            elif verb == "RSET":
                with self.lock:
                    self.rsets += 1
                mail_from, rcpts = None, []
                h.reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                h.reply("221 2.0.0 Bye")
                return
            else:
                h.reply(self.UNKNOWN_REPLY)

    def find(self, token, timeout=15):
        """The first stored message whose data holds token, or None."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                for m in self.messages:
                    if token.encode() in m[-1]:
                        return m
            time.sleep(0.05)
        return None

    def close(self):
        self.server.shutdown()
        self.server.server_close()
