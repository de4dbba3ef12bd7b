/*
 * Instance lifecycle subcommands: start (creating var/ on first use through
 * scripts/instance.sh), stop, status and reload of every daemon that exists
 * beside the youju binary, and of the private MariaDB.
 */
#ifndef YOUJU_CLI_INSTANCE_H
#define YOUJU_CLI_INSTANCE_H

int cli_start(int argc, char **argv);
int cli_stop(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_reload(int argc, char **argv);

#endif
