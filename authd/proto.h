/*
 * The authdaemond request parser (reference/authd-protocol.md §2) plus
 * youju's LOOKUP extension (docs/authd-protocol.md).  A request is a run of
 * NAME=VALUE meta lines followed by one command: PRE, AUTH <n> + exactly n
 * bytes, PASSWD, ENUMERATE, LOOKUP or MAPLOOKUP.  The parser is incremental:
 * the caller hands it everything received so far and learns whether the request
 * is complete, needs more bytes, or must be dropped without a reply.  It never
 * strips CR (courier does not either) and never reads past the AUTH body, so
 * Cyrus SASL's uncounted trailing LF is simply ignored.
 */
#ifndef AUTHD_PROTO_H
#define AUTHD_PROTO_H

#include <stdbool.h>
#include <stddef.h>

/* courier's line buffer is BUFSIZ: longer lines are dropped silently */
#define AUTHD_LINE_MAX 8190
/* AUTH <n>: 0 <= n < AUTHD_AUTH_MAX */
#define AUTHD_AUTH_MAX 8192
/* everything one request may take, meta lines included */
#define AUTHD_REQUEST_MAX 16384
/* MAPLOOKUP: longest table path and key, after %XX decoding */
#define AUTHD_MAP_PATH_MAX 1024
#define AUTHD_MAP_KEY_MAX  1024
/* courier keeps at most 39 bytes of TCPREMOTEIP */
#define AUTHD_RIP_MAX 39

enum authd_cmd {
	AUTHD_CMD_PRE,
	AUTHD_CMD_AUTH,
	AUTHD_CMD_PASSWD,
	AUTHD_CMD_ENUMERATE,
	AUTHD_CMD_LOOKUP,
	AUTHD_CMD_MAPLOOKUP,
	AUTHD_CMD_FLUSH,  /* youju: drop every cached answer (webadmin) */
	AUTHD_CMD_REJECT, /* well-formed but answered "FAIL\n" at once */
};

enum authd_authtype {
	AUTHD_AUTH_LOGIN,
	AUTHD_AUTH_CRAM_MD5,
	AUTHD_AUTH_CRAM_SHA1,
	AUTHD_AUTH_CRAM_SHA256,
};

enum authd_lookup_kind {
	AUTHD_LOOKUP_RCPT,
	AUTHD_LOOKUP_DOMAIN,
	AUTHD_LOOKUP_QUOTA,
	AUTHD_LOOKUP_USER,
	AUTHD_LOOKUP_DIRECTORY, /* directory.c */
};

/*
 * A parsed request.  Every string points into one owned copy of the request
 * bytes (NUL-terminated fields; a field may contain CR, never LF or NUL).
 * Free with authd_request_free(), which wipes the copy (it may hold
 * passwords).
 */
struct authd_request {
	enum authd_cmd cmd;
	char rip[AUTHD_RIP_MAX + 1]; /* TCPREMOTEIP or "" */
	const char *service;	     /* PRE, AUTH, PASSWD */
	const char *user;	     /* PRE, AUTH, PASSWD, LOOKUP argument,
					MAPLOOKUP key (decoded, no NUL) */
	const char *map;	     /* MAPLOOKUP table path (decoded) */
	const char *password;	     /* AUTH login; PASSWD old password */
	const char *newpassword;     /* PASSWD */
	enum authd_authtype authtype;
	const char *challenge; /* AUTH cram-*: the base64 challenge */
	const char *response;  /* AUTH cram-*: the base64 response */
	enum authd_lookup_kind lookup;
	const char *reject_reason; /* AUTHD_CMD_REJECT: why, for the log */
	bool keepalive;		   /* KEEPALIVE=1 on a LOOKUP or MAPLOOKUP: the
				      connection stays open after the reply */
	bool reuse;		   /* REUSE=1 on a LOOKUP: the reply starts with
				      "TTL=<ms>\n", how long the client may reuse it
				      (youju's own clients, lib/authc_cache) */
	bool client_delays; /* FAILDELAY=1 on an AUTH or PASSWD: a failure is
			       answered at once as "FAIL\nDELAY=<ms>\n" and the
			       client waits (youju's own clients) */
	size_t used;	    /* bytes of data this request took */
	char *mem_;	    /* the owned copy */
	size_t memlen_;
};

enum authd_parse_status {
	AUTHD_PARSE_MORE = 0,  /* incomplete: read more (len < the maximum) */
	AUTHD_PARSE_OK = 1,    /* *req_r filled in */
	AUTHD_PARSE_CLOSE = -1 /* drop the connection without a reply */
};

/*
 * Parses the len bytes in data (not NUL-terminated, may hold NULs).  On
 * AUTHD_PARSE_OK *req_r is filled and must be released with
 * authd_request_free(); otherwise *req_r is left zeroed.  eof: the client
 * has closed its side, so an incomplete request becomes AUTHD_PARSE_CLOSE.
 * *why_r (may be NULL) gets a static reason for CLOSE.
 */
enum authd_parse_status authd_parse(const char *data, size_t len, bool eof,
				    struct authd_request *req_r,
				    const char **why_r);
void authd_request_free(struct authd_request *req);

/*
 * Decodes one MAPLOOKUP word in place (authc_map_encode in lib/authc.h
 * writes them: %XX for bytes <= 0x20, 0x7f and '%'); strict: two hex
 * digits after '%'.  Returns the new length, or -1 on a bad escape or a
 * decoded NUL.
 */
long authd_map_decode(char *s);

/* "login", "cram-md5", ... */
const char *authd_authtype_name(enum authd_authtype t);
/* "rcpt", "domain", "quota", "user" */
const char *authd_lookup_name(enum authd_lookup_kind k);

/*
 * Decodes a CRAM response (base64 of "<userid> <hex digest>") into user_r
 * and digest_r (lower-case hex), splitting at the last space.  Buffers of
 * usersz / digestsz bytes.  Returns 0 or -1 (bad base64, no space, too
 * long, control bytes).
 */
int authd_cram_decode(const char *b64, char *user_r, size_t usersz,
		      char *digest_r, size_t digestsz);

/* Strict base64 decoding (padding required) into out (outsz bytes).
   Returns the decoded length, or -1. */
long authd_b64_decode(const char *in, unsigned char *out, size_t outsz);

#endif
