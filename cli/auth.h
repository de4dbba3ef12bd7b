/*
 * `youju auth test USER [PASSWORD]` (courier's authtest), `youju auth
 * passwd USER`, and `youju authd import-authmysqlrc FILE`.
 */
#ifndef CLI_AUTH_H
#define CLI_AUTH_H

/* argv[0] is "auth"; returns the exit status. */
int cli_auth(int argc, char **argv);
/* argv[0] is "authd"; returns the exit status. */
int cli_authd(int argc, char **argv);

#endif
