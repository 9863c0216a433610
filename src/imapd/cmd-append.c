/*
 * APPEND (RFC 3501 6.3.11): a message from the client into a folder, as
 * every Maildir writer does it: written to tmp/, fsynced, renamed into cur/
 * with its flags after ":2,", the directory fsynced; then the folder's UID
 * list gives it the next UID, which the answer names (APPENDUID, RFC 4315).
 * The file has LF line ends, as corral's deliveries and Maildir readers
 * expect; the optional date becomes its mtime (INTERNALDATE).
 *
 * The message may come as RFC 6855's UTF8 data item, "UTF8 (~{N}...)": a
 * literal8, stored as it is. A message with 8-bit header bytes is stored
 * as sent even before ENABLE UTF8=ACCEPT (RFC 6855 4 says NO): a client
 * moving mail from another server would lose it otherwise, and corral
 * keeps every message byte-exact.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imapd/session-int.h"
#include "store/maildir.h"
#include "store/uidlist.h"
#include "util/fs.h"
#include "util/log.h"

/* "17-Jul-1996 02:44:25 -0700" -> seconds; -1 when it is not a date-time. */
static time_t parse_date(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char mon[4], sign;
	int day, year, h, mi, sec, zone, used = 0;
	const char *m;
	struct tm tm = {0};

	if (sscanf(s, "%2d-%3s-%4d %2d:%2d:%2d %c%4d%n", &day, mon, &year, &h, &mi, &sec, &sign,
	           &zone, &used) != 8 ||
	    s[used] != '\0' || (sign != '+' && sign != '-') || (m = strstr(months, mon)) == NULL ||
	    (m - months) % 3 != 0)
		return -1;
	tm.tm_mday = day;
	tm.tm_mon = (int)(m - months) / 3;
	tm.tm_year = year - 1900;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return timegm(&tm) - (sign == '-' ? -1 : 1) * ((zone / 100) * 3600 + (zone % 100) * 60);
}

/* Writes the message into dir/tmp, then cur/NAME:2,LETTERS; the new base name in *base. */
static int write_message(const char *dir, const char *data, size_t len, const char *letters,
                         time_t date, char **base)
{
	char *tmp, *final, *suffix;
	FILE *fp;
	int fd, rc = -1;
	size_t lf_len = 0;
	struct md_vsize vsize = MD_VSIZE_INIT;

	for (size_t i = 0; i < len; i++)
		lf_len += !(data[i] == '\r' && i + 1 < len && data[i + 1] == '\n');
	md_vsize_feed(&vsize, data, len);
	/* ,S= the size on disk (LF line ends), ,W= the size with CRLF: RFC822.SIZE. */
	suffix = xasprintf(",S=%zu,W=%zu", lf_len, md_vsize_value(&vsize));
	*base = md_new_base(0, suffix);
	free(suffix);
	tmp = xasprintf("%s/tmp/%s", dir, *base);
	final = xasprintf("%s/cur/%s:2,%s", dir, *base, letters);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	fp = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (fp != NULL) {
		for (size_t i = 0; i < len; i++)
			if (!(data[i] == '\r' && i + 1 < len && data[i + 1] == '\n'))
				putc(data[i], fp);
		if (fflush(fp) == 0 && fsync(fileno(fp)) == 0)
			rc = 0;
		if (fclose(fp) != 0)
			rc = -1;
	} else if (fd >= 0) {
		close(fd);
	}
	if (rc == 0 && date >= 0) {
		struct timespec ts[2] = {{.tv_sec = date}, {.tv_sec = date}};

		utimensat(AT_FDCWD, tmp, ts, 0);
	}
	if (rc == 0 && rename(tmp, final) == 0) {
		char *cur = xasprintf("%s/cur", dir);

		rc = fs_fsync_dir(cur);
		free(cur);
	} else {
		unlink(tmp);
		rc = -1;
	}
	free(tmp);
	free(final);
	return rc;
}

/* The message argument of APPEND, its options before it (args[1..*nopt));
 * NULL after a tagged BAD. */
static const struct imapd_arg *message_arg(struct session *s, size_t *nopt)
{
	const struct imapd_cmd *c = s->cmd;
	const struct imapd_arg *a = c->args, *m;

	if (c->nargs >= 3 && a[c->nargs - 2].kind == IMAPD_ATOM &&
	    imapd_arg_is(&a[c->nargs - 2], "UTF8")) {
		m = &a[c->nargs - 1];
		*nopt = c->nargs - 2;
		if (m->kind != IMAPD_LIST || m->nsub != 1 || m->sub[0].kind != IMAPD_STRING ||
		    !m->sub[0].literal8) {
			done(s, ST_BAD, "UTF8 needs the message as a literal8: UTF8 (~{N}...)");
			return NULL;
		}
		return &m->sub[0];
	}
	*nopt = c->nargs > 0 ? c->nargs - 1 : 0;
	m = &a[*nopt];
	if (c->nargs < 2 || m->kind != IMAPD_STRING) {
		done(s, ST_BAD, "APPEND needs a folder, [flags], [date] and the message");
		return NULL;
	}
	return m;
}

void imap_cmd_append(struct session *s)
{
	const struct imapd_cmd *c = s->cmd;
	const struct imapd_arg *msg;
	const char *data;
	size_t nopt, len;
	char want[128] = {0}, letters[32] = "", *dir, *base = NULL, err[256], *date_s;
	struct keywords kw;
	time_t date = -1;
	bool selected;
	uint32_t uid = 0, validity = 0;

	if ((msg = message_arg(s, &nopt)) == NULL)
		return;
	if (nopt > 3) {
		done(s, ST_BAD, "APPEND needs a folder, [flags], [date] and the message");
		return;
	}
	data = msg->s;
	len = msg->len;
	/* Python's imaplib before 3.14 (after ENABLE UTF8=ACCEPT) puts
	 * "UTF8 (...)" inside a plain literal: no message begins so. */
	if (s->utf8 && msg->literal && !msg->literal8 && len >= 7 &&
	    memcmp(data, "UTF8 (", 6) == 0 && data[len - 1] == ')') {
		data += 6;
		len -= 7;
	}
	if ((dir = folder_arg(s, &c->args[0])) == NULL)
		return;
	for (size_t i = 1; i < nopt; i++) {
		if (c->args[i].kind == IMAPD_LIST) {
			if (keywords_read(dir, &kw, err, sizeof(err)) < 0) {
				log_err("%s: APPEND to %s: %s", s->peer, dir, err);
				done(s, ST_NO, "[SERVERBUG] the folder's keywords cannot be read");
				free(dir);
				return;
			}
			if (flag_letters(s, &c->args[i], want, &kw, dir) < 0) {
				keywords_free(&kw);
				free(dir);
				return;
			}
			keywords_free(&kw);
			view_flags_apply("", want, '=', letters, sizeof(letters));
		} else if ((date_s = arg_string(&c->args[i])) != NULL) {
			date = parse_date(date_s);
			free(date_s);
			if (date < 0) {
				free(dir);
				done(s, ST_BAD, "not a date-time: \"dd-Mon-yyyy hh:mm:ss +zzzz\"");
				return;
			}
		}
	}
	if (write_message(dir, data, len, letters, date, &base) < 0) {
		log_err("%s: APPEND to %s: %s", s->peer, dir, strerror(errno));
		done(s, ST_NO, "[SERVERBUG] the message could not be stored");
		free(base);
		free(dir);
		return;
	}
	/* Stored: a UID list that cannot be written now costs the APPENDUID,
	 * not the message (a NO would make the client send it twice). */
	if (uidlist_assign(dir, (const char *const *)&base, 1, &uid, &validity, err, sizeof(err)) <
	    0) {
		log_err("%s: APPEND to %s: %s", s->peer, dir, err);
		uid = 0;
	}
	selected = s->state == S_SELECTED && strcmp(s->view.dir, dir) == 0;
	/* The selected folder grew: the session hears it now. */
	if (selected)
		session_sync(s, true);
	if (uid > 0)
		done(s, ST_OK, "[APPENDUID %u %u] APPEND completed", validity, uid);
	else
		done(s, ST_OK, "APPEND completed");
	free(base);
	free(dir);
}
