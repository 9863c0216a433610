/*
 * Help for one command, and the one way a command reports a usage mistake
 * (it names the offending word and points to `corral COMMAND --help`).
 */
#ifndef CORRAL_CLI_HELP_H
#define CORRAL_CLI_HELP_H

#include <stdbool.h>
#include <stdio.h>

/* Prints cmd's usage, options and one example to fp; false for no such command. */
bool cli_help(FILE *fp, const char *cmd);

/* For completion: the command names, one a line; cmd's options (NULL: the
 * common ones), one a line, as its help lists them. */
void cli_help_commands(FILE *fp);
void cli_help_options(FILE *fp, const char *cmd);

/* The usage lines of cmd's help, to fp. */
void cli_usage(FILE *fp, const char *cmd);

/*
 * "corral CMD: WHAT 'ARG' (see corral CMD --help)" on stderr. Returns the
 * exit status: EX_USAGE, or EX_TEMPFAIL for deliver (an MTA bounces a
 * message on 64; a local mistake must leave it queued).
 */
int cli_bad_usage(const char *cmd, const char *what, const char *arg);

/*
 * The same for what getopt_long (optstring starting with ':') just refused:
 * c is its return value ('?' an unknown option, ':' a missing value); the
 * option is found from optind and optopt.
 */
int cli_bad_option(const char *cmd, char **argv, int c);

/* "corral RELEASE" and the libraries it runs with (loads libcurl, libmagic, OpenSSL). */
void cli_print_version(FILE *fp, const char *release);

#endif
