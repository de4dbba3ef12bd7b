/*
 * `youju queue list|flush|cat ID|delete ID|ALL [queue]|hold|release|requeue`
 * (mailq, postqueue -f, postcat -q, postsuper -d/-h/-H/-r).
 */
#ifndef CLI_QUEUE_H
#define CLI_QUEUE_H

/* argv[0] is "queue"; returns the exit status. */
int cli_queue(int argc, char **argv);

/* Called as Postfix's mailq (= queue list) or postqueue (-p list, -f
   flush); name is argv[0]'s base name.  Returns the exit status. */
int cli_queue_as(const char *name, int argc, char **argv);

#endif
