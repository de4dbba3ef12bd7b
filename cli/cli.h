/*
 * Subcommands of the youju command-line tool that have no header of their
 * own.  cli/main.c dispatches "youju NAME ARGS..." to them with argv[0] set
 * to NAME; each returns the process exit status.
 */
#ifndef YOUJU_CLI_H
#define YOUJU_CLI_H

/*
 * `youju conf [-c dir] [-d] [-h] [-n] [-x] [name ...]` prints parameters,
 * `youju conf [-c dir] -e name=value ...` edits youju.cf, like postconf(1).
 * Exit status: 0; 1 on an error or when a named parameter is unknown; 2 on a
 * usage error.
 */
int cli_conf(int argc, char **argv);

/* `youju sieve check FILE...` and `youju sieve extensions` (cli/sieve.c,
   docs/sieve.md).  0, 1 when a script has an error, 2 on usage. */
int cli_sieve(int argc, char **argv);

#endif
