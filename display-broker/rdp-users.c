/* rdp-users.c: the RDP users file (--rdp-users): strict parsing of an untrusted text file of
 * "user:password" and "user::NTHASH" lines into a table the NLA check looks names up in. Not
 * NLA itself (rdp-nla.c) and no hashing: that needs WinPR, this file does not. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker-internal.h"

static void fail(char *err, size_t errlen, unsigned line, const char *fmt, ...)
{
	char why[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(err, errlen, "line %u: %s", line, why);
	else
		snprintf(err, errlen, "%s", why);
}

static bool user_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-' || c == '@';
}

/* Whether s[0..n) is valid UTF-8 without control characters (passwords are typed text). */
static bool password_text_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		size_t len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (!len || c == 0xc0 || c == 0xc1 || c > 0xf4 || n - i < len)
			return false;
		for (size_t k = 1; k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		/* Overlong three- and four-byte forms, surrogates, beyond U+10FFFF. */
		if ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] >= 0xa0) ||
		    (c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] >= 0x90))
			return false;
		i += len;
	}
	return true;
}

static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

/* Parses one line (no newline, CR removed) into u's next entry. 0 or -EINVAL. */
static int parse_line(struct broker_users *u, const char *s, size_t n, unsigned line, char *err,
		      size_t errlen)
{
	const char *colon = memchr(s, ':', n);
	if (!colon) {
		fail(err, errlen, line, "no ':' (want user:password or user::NTHASH)");
		return -EINVAL;
	}
	size_t ul = (size_t)(colon - s);
	if (!ul) {
		fail(err, errlen, line, "empty user name");
		return -EINVAL;
	}
	if (ul > BROKER_USER_MAX) {
		fail(err, errlen, line, "user name longer than %d characters", BROKER_USER_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < ul; i++)
		if (!user_char_ok((unsigned char)s[i])) {
			fail(err, errlen, line,
			     "user name: character %zu is not a letter, digit, '.', '_', '-' or '@'",
			     i + 1);
			return -EINVAL;
		}
	if (u->nr == BROKER_USERS_MAX) {
		fail(err, errlen, line, "more than %d users", BROKER_USERS_MAX);
		return -EINVAL;
	}
	for (unsigned i = 0; i < u->nr; i++)
		if (strlen(u->users[i].name) == ul && !strncasecmp(u->users[i].name, s, ul)) {
			fail(err, errlen, line, "user '%.*s' again (names ignore case)", (int)ul, s);
			return -EINVAL;
		}
	struct broker_user *e = &u->users[u->nr];
	memset(e, 0, sizeof(*e));
	const char *rest = colon + 1;
	size_t rl = n - ul - 1;
	if (rl && rest[0] == ':') {
		/* user::NTHASH, 32 hex digits */
		if (rl - 1 != 2 * sizeof(e->nt_hash)) {
			fail(err, errlen, line, "an NT hash is 32 hex digits, not %zu characters",
			     rl - 1);
			return -EINVAL;
		}
		for (size_t i = 0; i < sizeof(e->nt_hash); i++) {
			int hi = hd_hex_digit((unsigned char)rest[1 + 2 * i]);
			int lo = hd_hex_digit((unsigned char)rest[2 + 2 * i]);
			if (hi < 0 || lo < 0) {
				fail(err, errlen, line, "the NT hash has a character that is not hex");
				wipe(e, sizeof(*e));
				return -EINVAL;
			}
			e->nt_hash[i] = (uint8_t)(hi << 4 | lo);
		}
		e->has_hash = true;
	} else {
		if (!rl) {
			fail(err, errlen, line, "empty password");
			return -EINVAL;
		}
		if (rl > BROKER_PASSWORD_MAX) {
			fail(err, errlen, line, "password longer than %d bytes", BROKER_PASSWORD_MAX);
			return -EINVAL;
		}
		if (!password_text_ok((const unsigned char *)rest, rl)) {
			fail(err, errlen, line, "the password is not UTF-8 text without control "
						"characters");
			return -EINVAL;
		}
		memcpy(e->password, rest, rl);
		e->password[rl] = 0;
	}
	memcpy(e->name, s, ul);
	e->name[ul] = 0;
	u->nr++;
	return 0;
}

int broker_users_parse(const char *text, size_t len, struct broker_users **out, char *err,
		       size_t errlen)
{
	*out = NULL;
	if (len > BROKER_USERS_FILE_MAX) {
		fail(err, errlen, 0, "larger than %d bytes", BROKER_USERS_FILE_MAX);
		return -EINVAL;
	}
	struct broker_users *u = calloc(1, sizeof(*u));
	if (!u) {
		fail(err, errlen, 0, "out of memory");
		return -ENOMEM;
	}
	unsigned line = 0;
	for (size_t pos = 0; pos < len;) {
		line++;
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		pos += n + (nl ? 1 : 0);
		if (n > BROKER_USERS_LINE_MAX) {
			fail(err, errlen, line, "longer than %d bytes", BROKER_USERS_LINE_MAX);
			goto bad;
		}
		if (n && s[n - 1] == '\r')
			n--;
		if (memchr(s, 0, n)) {
			fail(err, errlen, line, "a NUL byte");
			goto bad;
		}
		if (!n || s[0] == '#')
			continue;
		if (s[0] == ' ' || s[0] == '\t') {
			fail(err, errlen, line, "begins with white space");
			goto bad;
		}
		if (parse_line(u, s, n, line, err, errlen) < 0)
			goto bad;
	}
	if (!u->nr) {
		fail(err, errlen, 0, "no users in it");
		goto bad;
	}
	*out = u;
	return 0;
bad:
	broker_users_free(u);
	return -EINVAL;
}

int broker_users_load(const char *path, struct broker_users **out, char *err, size_t errlen)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		fail(err, errlen, 0, "%s", strerror(errno));
		return -errno;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		fail(err, errlen, 0, "not a regular file");
		return -EINVAL;
	}
	/* It holds passwords: like an ssh key, nobody else may read or change it. */
	if (st.st_mode & 077) {
		close(fd);
		fail(err, errlen, 0, "group or others may access it (mode %03o): chmod 600 it",
		     (unsigned)(st.st_mode & 0777));
		return -EPERM;
	}
	if (st.st_size > BROKER_USERS_FILE_MAX) {
		close(fd);
		fail(err, errlen, 0, "larger than %d bytes", BROKER_USERS_FILE_MAX);
		return -EINVAL;
	}
	char *buf = malloc(BROKER_USERS_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		fail(err, errlen, 0, "out of memory");
		return -ENOMEM;
	}
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, BROKER_USERS_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			free(buf);
			fail(err, errlen, 0, "%s", strerror(e));
			return -e;
		}
		if (n == 0 || (len += (size_t)n) > BROKER_USERS_FILE_MAX)
			break;
	}
	close(fd);
	int r = broker_users_parse(buf, len, out, err, errlen);
	wipe(buf, len < BROKER_USERS_FILE_MAX + 1 ? len : BROKER_USERS_FILE_MAX + 1);
	free(buf);
	return r;
}

void broker_users_free(struct broker_users *u)
{
	if (!u)
		return;
	wipe(u, sizeof(*u));
	free(u);
}

unsigned broker_users_count(const struct broker_users *u)
{
	return u ? u->nr : 0;
}

const struct broker_user *broker_users_find(const struct broker_users *u, const char *name)
{
	for (unsigned i = 0; u && i < u->nr; i++)
		if (!strcasecmp(u->users[i].name, name))
			return &u->users[i];
	return NULL;
}
