/*
 * Duplicate suppression by Message-ID (`dedupe: 30d` in the config): a
 * store of the Message-IDs delivered within a window, kept in one file in
 * the state directory (STATE/dedupe).
 *
 * The file is a header line then one text record per delivered message,
 * "TIME HASH\n" (Unix seconds, 64-bit hash of the normalised Message-ID in
 * hex), appended and made durable in groups by dedupe_sync(). A torn last
 * record (crash during a write) is ignored and cut off; unreadable records
 * are skipped. Records older than the window are dropped when the file is
 * rewritten (new file, fsync, rename, fsync of the directory), which
 * happens on open and sync when most records are stale. Appends and
 * rewrites hold an flock so that `corral deliver` and the daemon can share
 * the file.
 *
 * A message without a Message-ID is never a duplicate.
 *
 * Memory: the handle owns everything; dedupe_close() frees it.
 */
#ifndef CORRAL_DEDUPE_H
#define CORRAL_DEDUPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct dedupe;

/* Opens (creating it, mode 0600) the store at path with a window in
 * seconds (> 0). NULL with err set when the file cannot be read or made. */
struct dedupe *dedupe_open(const char *path, uint64_t window_s, char *err, size_t errlen);
/* Reads the store for a dry run: nothing is created, tidied or written, not
 * even by dedupe_close(); a missing file is an empty store. */
struct dedupe *dedupe_open_readonly(const char *path, uint64_t window_s, char *err, size_t errlen);

/* True when msgid ("<a@b>" as msg_message_id() gives it; NULL allowed)
 * was added within the window. Comparison ignores the angle brackets,
 * surrounding white space and the case of the domain part. */
bool dedupe_seen(struct dedupe *d, const char *msgid);
/* Records msgid as delivered now: seen at once, durable after
 * dedupe_sync(). NULL or empty msgid is ignored. */
void dedupe_add(struct dedupe *d, const char *msgid);
/* Appends the buffered records with one write and one fsync (group
 * commit). Returns 0, or -1 with err set (records stay buffered). */
int dedupe_sync(struct dedupe *d, char *err, size_t errlen);
/* Syncs what is buffered, then frees. Returns dedupe_sync()'s result. */
int dedupe_close(struct dedupe *d, char *err, size_t errlen);

/* Number of Message-IDs known within the window (for logs and tests). */
size_t dedupe_count(const struct dedupe *d);
/* Tests: as if the clock said now (0 = the real clock), from the open on,
 * or from this call on. */
struct dedupe *dedupe_open_at(const char *path, uint64_t window_s, time_t now, char *err,
                              size_t errlen);
void dedupe_set_now(struct dedupe *d, time_t now);

#endif
