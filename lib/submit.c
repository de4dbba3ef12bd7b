/*
 * The local submission conversation (see submit.h).  Replies are read
 * whole (all the lines of a multi-line reply) into a bounded buffer;
 * one that does not fit fails the transaction.
 */
#include "submit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* Reads one SMTP reply (all its lines) into buf; returns its code or
   -1. */
static int smtp_reply(int fd, char *buf, size_t sz)
{
	size_t len = 0;
	for (;;) {
		ssize_t r = recv(fd, buf + len, sz - 1 - len, 0);
		if (r <= 0)
			return -1;
		len += (size_t)r;
		buf[len] = '\0';
		/* the last line is "NNN " and ends in CRLF */
		char *end = strstr(buf, "\r\n"), *last = buf;
		while (end != NULL && end[2] != '\0') {
			last = end + 2;
			end = strstr(last, "\r\n");
		}
		if (end != NULL && strlen(last) >= 4 && last[3] == ' ')
			return (int)strtol(last, NULL, 10);
		if (len + 1 >= sz)
			return -1;
	}
}

static int smtp_cmd(int fd, const char *data, size_t n, char *buf, size_t sz)
{
	if (send(fd, data, n, MSG_NOSIGNAL) != (ssize_t)n)
		return -1;
	return smtp_reply(fd, buf, sz);
}

/* Sends "<verb>:<arg>" and reads the reply: its code or -1. */
static int smtp_arg(int fd, const char *verb, const char *arg, char *buf,
		    size_t sz)
{
	char line[600];
	int k = snprintf(line, sizeof line, "%s:<%s>\r\n", verb, arg);
	if (k < 0 || (size_t)k >= sizeof line)
		return -1;
	return smtp_cmd(fd, line, (size_t)k, buf, sz);
}

static void queue_id(const char *reply, char *qid, size_t qidsz)
{
	/* "250 2.0.0 Ok: queued as 6B00CFEBA5790000" */
	const char *q = strstr(reply, "queued as ");
	qid[0] = '\0';
	if (q == NULL)
		return;
	q += 10;
	size_t l = strcspn(q, " \r\n");
	if (l < qidsz) {
		memcpy(qid, q, l);
		qid[l] = '\0';
	}
}

int submit_local(const char *sock, const char *helo, const char *sender,
		 char *const *rcpts, size_t n, bool all_rcpts, const char *msg,
		 size_t len, struct submit_result *r)
{
	char *rep = r->reply;
	const size_t rsz = sizeof r->reply;
	r->accepted = 0;
	r->queue_id[0] = '\0';
	snprintf(rep, rsz, "cannot connect to youju-mta");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(sock) >= sizeof sa.sun_path)
		return -1;
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = 60};
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	char line[600];
	int k = snprintf(line, sizeof line, "EHLO %s\r\n", helo);
	bool ok = k > 0 && (size_t)k < sizeof line &&
		  connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
		  smtp_reply(fd, rep, rsz) == 220 &&
		  smtp_cmd(fd, line, (size_t)k, rep, rsz) == 250 &&
		  smtp_arg(fd, "MAIL FROM", sender, rep, rsz) == 250;
	for (size_t i = 0; ok && i < n; i++) {
		int code = smtp_arg(fd, "RCPT TO", rcpts[i], rep, rsz);
		if (code / 100 == 2)
			r->accepted++;
		else if (code < 0 || all_rcpts)
			ok = false;
	}
	/* without a recipient the last reply says why */
	ok = ok && r->accepted > 0 &&
	     smtp_cmd(fd, "DATA\r\n", 6, rep, rsz) == 354;
	ok = ok && send(fd, msg, len, MSG_NOSIGNAL) == (ssize_t)len;
	bool crlf = len >= 2 && msg[len - 2] == '\r' && msg[len - 1] == '\n';
	const char *dot = crlf ? ".\r\n" : "\r\n.\r\n";
	ok = ok && smtp_cmd(fd, dot, strlen(dot), rep, rsz) == 250;
	if (ok) {
		queue_id(rep, r->queue_id, sizeof r->queue_id);
		char r2[512];
		(void)smtp_cmd(fd, "QUIT\r\n", 6, r2, sizeof r2);
	}
	close(fd);
	char *nl = strpbrk(rep, "\r\n");
	if (nl != NULL)
		*nl = '\0';
	return ok ? 0 : -1;
}
