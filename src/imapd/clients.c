#include "imapd/clients.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "util/fs.h"
#include "util/log.h"

/* Failed logins older than this are forgotten. */
#define FORGET_MS (10 * 60 * 1000)
/* Slots for addresses with no session but recent failures. */
#define SPARE_SLOTS 256

struct client_slot {
	int family; /* AF_INET or AF_INET6; 0: free */
	unsigned char addr[16];
	unsigned conns;        /* the listener's: sessions running */
	unsigned failures;     /* the sessions': failed logins (atomic) */
	uint64_t last_fail_ms; /* the sessions': when the last one was (atomic) */
};

struct child {
	pid_t pid; /* 0: free */
	struct client_slot *slot;
};

struct clients {
	unsigned max_total, max_per, running;
	size_t nslots;
	struct client_slot *slots; /* shared with the sessions (MAP_SHARED) */
	struct child *children;    /* max_total */
};

struct clients *clients_new(unsigned max_total, unsigned max_per_address)
{
	struct clients *c = xcalloc(1, sizeof(*c));

	c->max_total = max_total;
	c->max_per = max_per_address;
	c->nslots = (size_t)max_total + SPARE_SLOTS;
	c->slots = mmap(NULL, c->nslots * sizeof(*c->slots), PROT_READ | PROT_WRITE,
	                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->slots == MAP_FAILED) {
		free(c);
		return NULL;
	}
	c->children = xcalloc(max_total, sizeof(*c->children));
	return c;
}

void clients_free(struct clients *c)
{
	if (c == NULL)
		return;
	munmap(c->slots, c->nslots * sizeof(*c->slots));
	free(c->children);
	free(c);
}

/* ss as family and 16 address bytes; an IPv4-mapped IPv6 address is IPv4. */
static int address_of(const struct sockaddr_storage *ss, unsigned char addr[16])
{
	memset(addr, 0, 16);
	if (ss->ss_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return AF_INET;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(addr, a->s6_addr + 12, 4);
			return AF_INET;
		}
		memcpy(addr, a, 16);
		return AF_INET6;
	}
	return AF_UNIX; /* a Unix socket from systemd: one local "address" */
}

static bool forgotten(const struct client_slot *s, uint64_t now)
{
	return now - __atomic_load_n(&s->last_fail_ms, __ATOMIC_RELAXED) > FORGET_MS;
}

/* The slot of an address: its own, else a free one, else the one without
 * sessions whose last failure is the oldest. */
static struct client_slot *slot_for(struct clients *c, int family, const unsigned char addr[16])
{
	struct client_slot *free_slot = NULL, *oldest = NULL;
	uint64_t now = fs_now_ms();

	for (size_t i = 0; i < c->nslots; i++) {
		struct client_slot *s = &c->slots[i];

		if (s->family == family && memcmp(s->addr, addr, 16) == 0)
			return s;
		if (s->conns > 0)
			continue;
		if (s->family == 0 || forgotten(s, now))
			free_slot = free_slot != NULL ? free_slot : s;
		else if (oldest == NULL || s->last_fail_ms < oldest->last_fail_ms)
			oldest = s;
	}
	free_slot = free_slot != NULL ? free_slot : oldest;
	free_slot->family = family;
	memcpy(free_slot->addr, addr, 16);
	__atomic_store_n(&free_slot->failures, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&free_slot->last_fail_ms, 0, __ATOMIC_RELAXED);
	return free_slot;
}

struct client_slot *clients_admit(struct clients *c, const struct sockaddr_storage *ss,
                                  const char **why)
{
	unsigned char addr[16];
	int family = address_of(ss, addr);
	struct client_slot *s;

	if (c->running >= c->max_total) {
		*why = "too many connections (server.max_connections)";
		return NULL;
	}
	s = slot_for(c, family, addr);
	if (s->conns >= c->max_per) {
		*why =
		    "too many connections from your address (server.max_connections_per_address)";
		return NULL;
	}
	s->conns++;
	c->running++;
	return s;
}

void clients_started(struct clients *c, struct client_slot *slot, pid_t pid)
{
	for (unsigned i = 0; i < c->max_total; i++)
		if (c->children[i].pid == 0) {
			c->children[i] = (struct child){pid, slot};
			return;
		}
	/* admit() kept running under max_total: a free entry exists. */
	fatal("clients: no room for session %ld", (long)pid);
}

void clients_ended(struct clients *c, pid_t pid, struct client_slot *slot)
{
	for (unsigned i = 0; pid > 0 && slot == NULL && i < c->max_total; i++)
		if (c->children[i].pid == pid) {
			slot = c->children[i].slot;
			c->children[i] = (struct child){0};
		}
	if (slot == NULL)
		return;
	slot->conns--;
	c->running--;
}

unsigned client_failures(const struct client_slot *slot)
{
	if (slot == NULL || forgotten(slot, fs_now_ms()))
		return 0;
	return __atomic_load_n(&slot->failures, __ATOMIC_RELAXED);
}

unsigned client_failed(struct client_slot *slot)
{
	unsigned before;

	if (slot == NULL)
		return 0;
	before = client_failures(slot);
	/* After a quiet spell the count starts again. */
	if (before == 0)
		__atomic_store_n(&slot->failures, 0, __ATOMIC_RELAXED);
	__atomic_fetch_add(&slot->failures, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->last_fail_ms, fs_now_ms(), __ATOMIC_RELAXED);
	return before;
}
