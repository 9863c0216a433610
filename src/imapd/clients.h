/*
 * Who is connected to the server: sessions in all and per client address,
 * capped (server.max_connections, max_connections_per_address), and the
 * failed logins of each address, counted across its connections so that
 * reconnecting does not reset the growing delay.
 *
 * The listener (serve.c) admits and forgets connections; a session, in its
 * own process, counts its failed logins in its address's slot, which lives
 * in memory shared by fork (updated atomically). The table belongs to the
 * listener; a slot pointer stays valid in the session that was given it.
 */
#ifndef CORRAL_IMAPD_CLIENTS_H
#define CORRAL_IMAPD_CLIENTS_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

struct clients;
struct client_slot;

/* NULL when the shared memory cannot be had. */
struct clients *clients_new(unsigned max_total, unsigned max_per_address);
void clients_free(struct clients *c);
/* A new connection from ss: its address's slot, or NULL (why says which
 * cap) when it is one too many. clients_started() then tells its pid. */
struct client_slot *clients_admit(struct clients *c, const struct sockaddr_storage *ss,
                                  const char **why);
void clients_started(struct clients *c, struct client_slot *slot, pid_t pid);
/* The session pid ended (or the admitted connection never started: pid -1
 * with its slot). */
void clients_ended(struct clients *c, pid_t pid, struct client_slot *slot);

/* In the session: the recent failed logins of its address (0 for a NULL
 * slot), and one more (returns the count before it). */
unsigned client_failures(const struct client_slot *slot);
unsigned client_failed(struct client_slot *slot);

#endif
