/*
 * Spam verdicts in a message's header, as filters write them: SpamAssassin's
 * "X-Spam-Flag: YES" and "X-Spam-Status: Yes, ...", rspamd's "X-Spam: Yes"
 * (and youju's own DMARC quarantine, which adds X-Spam-Flag).  Delivery
 * files such mail into the mailbox's Junk folder.
 */
#ifndef MTA_JUNK_H
#define MTA_JUNK_H

#include <stdbool.h>
#include <stddef.h>

/* True when the header section of msg[0..len) (LF line ends) carries a
   spam verdict. */
bool junk_verdict(const char *msg, size_t len);

#endif
