/*
 * The ESMTP arguments of a milter's envelope changes: SMFIR_ADDRCPT_PAR
 * (smfi_addrcpt_par) and SMFIR_CHGFROM (smfi_chgfrom).  For an added
 * recipient, NOTIFY= and ORCPT= (RFC 3461) are kept, as Postfix's cleanup
 * keeps them; a bad one is dropped with Postfix's warning ("Bad NOTIFY
 * parameter from milter"), and any other argument is ignored with a
 * warning.  For a changed sender Postfix 3.7 ignores every argument; youju
 * keeps the ones that still mean something for a message already received
 * -- RET=, ENVID= (RFC 3461) and BODY= (RFC 6152) -- and ignores SIZE=
 * (the size is known), AUTH=, SMTPUTF8 and others, each logged.  Each
 * argument is checked with the SMTP parser's rules (smtp_parse.h).
 */
#ifndef MTA_MILTER_ARGS_H
#define MTA_MILTER_ARGS_H

#include <stddef.h>

#include "smtp_parse.h"

/* Most arguments looked at in one request (more are ignored, logged). */
#define MILTER_ARGS_MAX 16

/* Applies args (blank-separated, NUL-terminated; "" none) of a changed
   sender to m (its address untouched).  queue_id is for the log.
   Returns how many arguments were kept. */
size_t milter_args_mail(const char *queue_id, const char *args,
			struct smtp_mail *m);

/* Applies args of an added recipient: *notify (SMTP_NOTIFY_* bits) and
   orcpt (orcptsz bytes, "" none).  Returns how many were kept. */
size_t milter_args_rcpt(const char *queue_id, const char *args,
			unsigned *notify, char *orcpt, size_t orcptsz);

#endif
