/*
 * The providers `corral init` knows (corral(1), init): the servers and
 * what each wants for a login. Pure data and lookups: no I/O.
 */
#ifndef CORRAL_CLI_INIT_PRESET_H
#define CORRAL_CLI_INIT_PRESET_H

struct preset {
	const char *name;      /* "gmail" */
	const char *imap_host; /* IMAP over implicit TLS, port 993 */
	const char *pop3_host; /* POP3 over implicit TLS, port 995; NULL: none */
	const char *domains;   /* the address domains it serves, space-separated */
	const char *oauth2;    /* NULL, or why OAuth2 is needed (auth: xoauth2) */
	const char *note;      /* what to log in with: a comment in the config */
	const char *folders;   /* a comment on which folders to fetch, or NULL */
};

/* The preset named name ("gmail"); NULL when there is none. */
const struct preset *preset_by_name(const char *name);
/* The preset serving the domain of email ("Jane@GMail.com" -> gmail); NULL
 * when none does or email has no domain. */
const struct preset *preset_for_email(const char *email);
/* The names of all presets, space-separated, for messages. */
const char *preset_names(void);

#endif
