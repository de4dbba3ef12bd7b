/*
 * `youju sendmail` — also run when the youju binary is called as
 * `sendmail` — with the options of Postfix's sendmail(1): the way scripts,
 * cron, PHP's mail() and the webmail submit mail.  It reads the message
 * from standard input and hands it to youju-mta over its pickup socket
 * (sendmail_socket); no set-id bit is involved (docs/mta.md "sendmail").
 */
#ifndef CLI_SENDMAIL_H
#define CLI_SENDMAIL_H

/*
 * argv[0] is "sendmail".  Returns the exit status, from sysexits.h as
 * sendmail's: 0 queued, EX_USAGE (64) bad options or no recipients,
 * EX_DATAERR (65) a message or address the MTA refused, EX_NOINPUT (66)
 * standard input unreadable, EX_NOUSER (67) a recipient refused (or, with
 * -bv, undeliverable), EX_SOFTWARE (70) an internal error, EX_OSERR (71),
 * EX_CANTCREAT (73) no temporary file, EX_IOERR (74), EX_TEMPFAIL (75)
 * youju-mta not running or a temporary failure, EX_NOPERM (77) the socket
 * refused us, EX_CONFIG (78) youju.cf unreadable.
 */
int cli_sendmail(int argc, char **argv);

#endif
