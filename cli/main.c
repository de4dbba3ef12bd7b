/*
 * youju: the one command-line tool (DESIGN §3).  It dispatches to
 * subcommands; the ones that manage the instance (start, stop, status,
 * reload) live in cli/instance.c, `conf` in cli/conf.c, `auth` and `authd`
 * in cli/auth.c, `sendmail` in cli/sendmail.c.  Called by another name
 * (sendmail), it acts as that Postfix command.
 */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "auth.h"
#include "cli.h"
#include "dkim.h"
#include "instance.h"
#include "queue.h"
#include "sendmail.h"

struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
};

static const struct cli_command cli_commands[] = {
    {"start", cli_start, "create the instance if needed, start daemons"},
    {"stop", cli_stop, "stop every daemon, MariaDB included"},
    {"status", cli_status, "show each daemon and its pid"},
    {"reload", cli_reload, "make running daemons re-read youju.cf"},
    {"conf", cli_conf, "show or edit youju.cf (like postconf)"},
    {"auth", cli_auth, "test or change a password (like authtest)"},
    {"authd", cli_authd, "authd tools: import-authmysqlrc FILE"},
    {"queue", cli_queue, "the mail queue: list flush delete hold cat"},
    {"dkim", cli_dkim, "DKIM keys: keygen DOMAIN, show DOMAIN"},
    {"sendmail", cli_sendmail, "submit mail from stdin (sendmail(1))"},
    {"sieve", cli_sieve, "Sieve tools: check FILE..., extensions"},
    {"domain", cli_admin, "domains through youju-webadmin: list add ..."},
    {"user", cli_admin, "mailboxes: list show add set del import ..."},
    {"alias", cli_admin, "aliases: list show add set del import ..."},
    {"manager", cli_admin, "console managers: list show add set del"},
};

static int cli_usage(FILE *f)
{
	fprintf(f, "usage: youju COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof cli_commands / sizeof *cli_commands; i++)
		fprintf(f, "  %-8s %s\n", cli_commands[i].name,
			cli_commands[i].help);
	return f == stderr ? 2 : 0;
}

int main(int argc, char **argv)
{
	const char *self = argc > 0 ? strrchr(argv[0], '/') : NULL;
	self = self != NULL ? self + 1 : argc > 0 ? argv[0] : "";
	if (strcmp(self, "mailq") == 0 || strcmp(self, "postqueue") == 0)
		return cli_queue_as(self, argc, argv);
	/* installed as /usr/sbin/sendmail (a symlink): scripts' sendmail */
	if (strcmp(self, "sendmail") == 0)
		return cli_sendmail(argc, argv);
	if (argc < 2)
		return cli_usage(stderr);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return cli_usage(stdout);
	for (size_t i = 0; i < sizeof cli_commands / sizeof *cli_commands; i++)
		if (strcmp(argv[1], cli_commands[i].name) == 0)
			return cli_commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "youju: unknown command: %s\n", argv[1]);
	return cli_usage(stderr);
}
