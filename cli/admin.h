/*
 * `youju domain|user|alias|manager`: provisioning through youju-webadmin's
 * API (cli/admin.c, docs/webadmin.md "Command line").
 */
#ifndef CLI_ADMIN_H
#define CLI_ADMIN_H

/* argv[0] is the kind ("domain", "user", "alias", "manager").  Exit
   status: 0 done, 1 refused or failed (the reason on stderr), 2 usage. */
int cli_admin(int argc, char **argv);

#endif
