/*
 * Real Cyrus SASL client of youju-authd for tests/integration/test_authd.py:
 * sasl_server_init with an application config directory (argv[1]) holding
 * <app>.conf with "pwcheck_method: authdaemond" and "authdaemond_path",
 * then sasl_checkpass(user, password) as Postfix's smtpd would for PLAIN
 * and LOGIN.  Prints the SASL result code and exits 0 on SASL_OK, 1 on
 * SASL_BADAUTH, 2 on anything else.
 *
 *	sasl_checkpass CONFDIR APPNAME SERVICE USER PASSWORD
 */
#include <sasl/sasl.h>
#include <stdio.h>
#include <string.h>

static const char *confdir;

static int getconfpath(void *ctx, const char **path)
{
	(void)ctx;
	*path = confdir;
	return SASL_OK;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: sasl_checkpass CONFDIR APP SERVICE "
				"USER PASSWORD\n");
		return 3;
	}
	confdir = argv[1];
	sasl_callback_t cbs[] = {
	    {SASL_CB_GETCONFPATH, (int (*)(void))getconfpath, NULL},
	    {SASL_CB_LIST_END, NULL, NULL},
	};
	int rc = sasl_server_init(cbs, argv[2]);
	if (rc != SASL_OK) {
		printf("init %d\n", rc);
		return 2;
	}
	sasl_conn_t *conn = NULL;
	rc = sasl_server_new(argv[3], "localhost", NULL, NULL, NULL, NULL, 0,
			     &conn);
	if (rc != SASL_OK) {
		printf("new %d\n", rc);
		return 2;
	}
	rc = sasl_checkpass(conn, argv[4], (unsigned)strlen(argv[4]), argv[5],
			    (unsigned)strlen(argv[5]));
	printf("%d\n", rc);
	sasl_dispose(&conn);
	sasl_done();
	return rc == SASL_OK ? 0 : rc == SASL_BADAUTH ? 1 : 2;
}
