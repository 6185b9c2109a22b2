/*
 * The keyring file: a strict parser (every error names file and line and
 * never quotes key material), the canonical writer, and the checks on the
 * file itself before a byte of it is trusted.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyd/crypto.h"
#include "keyd/keyring.h"

#define NFIELDS		4
#define B64KEYLEN	B64_ENCLEN(KEYRING_KEYLEN)	/* 44 */

struct parse_state {
	const char	*name;
	size_t		 lineno;
	int		 seen_sign;
	char		*err;
	size_t		 errlen;
};

static int __attribute__((format(printf, 2, 3)))
perr(struct parse_state *ps, const char *fmt, ...)
{
	char	 why[160];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (ps->lineno > 0)
		snprintf(ps->err, ps->errlen, "%s:%zu: %s", ps->name,
		    ps->lineno, why);
	else
		snprintf(ps->err, ps->errlen, "%s: %s", ps->name, why);
	return -1;
}

/* Split on single spaces into exactly NFIELDS non-empty fields. */
static int
split(struct parse_state *ps, const char *line, size_t len,
    const char *f[NFIELDS], size_t flen[NFIELDS])
{
	size_t	 n = 0, start = 0, i;

	for (i = 0; i <= len; i++) {
		if (i < len && line[i] != ' ')
			continue;
		if (i == start)
			return perr(ps, "empty field (fields are separated by "
			    "exactly one space)");
		if (n == NFIELDS)
			return perr(ps, "too many fields (expected keyword, "
			    "id, created, base64)");
		f[n] = line + start;
		flen[n++] = i - start;
		start = i + 1;
	}
	if (n != NFIELDS)
		return perr(ps, "too few fields (expected keyword, id, "
		    "created, base64)");
	return 0;
}

/* A decimal without sign, whitespace or leading zeros, in [min, max]. */
static int
parse_num(struct parse_state *ps, const char *what, const char *s,
    size_t len, long long min, long long max, long long *v)
{
	char		 tmp[24];
	const char	*errstr;
	size_t		 i;

	if (len >= sizeof(tmp) || (len > 1 && s[0] == '0'))
		return perr(ps, "%s is not a canonical decimal number", what);
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return perr(ps, "%s is not a decimal number", what);
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	*v = strtonum(tmp, min, max, &errstr);
	if (errstr != NULL)
		return perr(ps, "%s is %s (range %lld..%lld)", what, errstr,
		    min, max);
	return 0;
}

static int
parse_entry(struct parse_state *ps, const char *const f[NFIELDS],
    const size_t flen[NFIELDS], uint32_t *id, uint64_t *created,
    uint8_t key[KEYRING_KEYLEN])
{
	long long	 v;
	size_t		 outlen;

	if (parse_num(ps, "id", f[1], flen[1], 1, UINT32_MAX, &v) == -1)
		return -1;
	*id = (uint32_t)v;
	if (parse_num(ps, "created", f[2], flen[2], 0, LLONG_MAX, &v) == -1)
		return -1;
	*created = (uint64_t)v;
	if (flen[3] != B64KEYLEN ||
	    b64_decode(f[3], flen[3], key, KEYRING_KEYLEN, &outlen) == -1 ||
	    outlen != KEYRING_KEYLEN) {
		explicit_bzero(key, KEYRING_KEYLEN);
		return perr(ps, "key is not the base64 of %d bytes",
		    KEYRING_KEYLEN);
	}
	return 0;
}

static int
parse_key(struct parse_state *ps, struct keyring *kr,
    const char *const f[NFIELDS], const size_t flen[NFIELDS])
{
	struct keyring_key	*k;

	if (ps->seen_sign)
		return perr(ps, "key line after the sign line");
	if (kr->nkeys == KEYRING_MAX_KEYS)
		return perr(ps, "more than %d keys", KEYRING_MAX_KEYS);
	k = &kr->keys[kr->nkeys];
	if (parse_entry(ps, f, flen, &k->id, &k->created, k->key) == -1)
		return -1;
	if (kr->nkeys > 0 && k->id <= kr->keys[kr->nkeys - 1].id) {
		perr(ps, "key id %u is not greater than the previous key id %u",
		    k->id, kr->keys[kr->nkeys - 1].id);
		explicit_bzero(k, sizeof(*k));
		return -1;
	}
	kr->nkeys++;
	return 0;
}

static int
parse_line(struct parse_state *ps, struct keyring *kr, const char *line,
    size_t len)
{
	const char	*f[NFIELDS];
	size_t		 flen[NFIELDS];

	if (memchr(line, '\0', len) != NULL)
		return perr(ps, "NUL byte");
	if (len > 0 && line[len - 1] == '\r')
		return perr(ps, "carriage return (DOS line ending)");
	if (ps->lineno == 1) {
		if (len == strlen(KEYRING_MAGIC) &&
		    memcmp(line, KEYRING_MAGIC, len) == 0)
			return 0;
		if (len > 16 && memcmp(line, "ballast-keyring ", 16) == 0)
			return perr(ps, "unsupported keyring version "
			    "(expected \"%s\")", KEYRING_MAGIC);
		return perr(ps, "not a keyring file (the first line must be "
		    "\"%s\")", KEYRING_MAGIC);
	}
	if (len == 0)
		return perr(ps, "empty line");
	if (split(ps, line, len, f, flen) == -1)
		return -1;
	if (flen[0] == 3 && memcmp(f[0], "key", 3) == 0)
		return parse_key(ps, kr, f, flen);
	if (flen[0] == 4 && memcmp(f[0], "sign", 4) == 0) {
		if (ps->seen_sign)
			return perr(ps, "more than one sign line");
		ps->seen_sign = 1;
		return parse_entry(ps, f, flen, &kr->sign_id,
		    &kr->sign_created, kr->sign_seed);
	}
	return perr(ps, "unknown keyword (expected \"key\" or \"sign\")");
}

int
keyring_parse(const char *buf, size_t len, const char *name,
    struct keyring **out, char *err, size_t errlen)
{
	struct parse_state	 ps = { name, 0, 0, err, errlen };
	struct keyring		*kr;
	const char		*nl;
	size_t			 pos = 0;

	*out = NULL;
	if (len > KEYRING_MAX_FILE)
		return perr(&ps, "larger than %d bytes", KEYRING_MAX_FILE);
	if (len == 0)
		return perr(&ps, "empty file");
	if ((kr = keyring_new()) == NULL)
		return perr(&ps, "cannot allocate locked memory: %s",
		    strerror(errno));
	while (pos < len) {
		ps.lineno++;
		if ((nl = memchr(buf + pos, '\n', len - pos)) == NULL) {
			perr(&ps, "last line does not end in a newline");
			goto fail;
		}
		if (parse_line(&ps, kr, buf + pos, nl - (buf + pos)) == -1)
			goto fail;
		pos = nl - buf + 1;
	}
	ps.lineno = 0;
	if (kr->nkeys == 0) {
		perr(&ps, "no key line");
		goto fail;
	}
	if (!ps.seen_sign) {
		perr(&ps, "no sign line");
		goto fail;
	}
	*out = kr;
	return 0;
 fail:
	keyring_free(kr);
	return -1;
}

static int
format_entry(char *buf, size_t bufsz, size_t *off, const char *kw,
    uint32_t id, uint64_t created, const uint8_t key[KEYRING_KEYLEN])
{
	char	 b64[B64KEYLEN + 1];
	int	 n, ret = -1;

	if (b64_encode(key, KEYRING_KEYLEN, b64, sizeof(b64)) == -1)
		goto out;
	n = snprintf(buf + *off, bufsz - *off, "%s %u %llu %s\n", kw, id,
	    (unsigned long long)created, b64);
	if (n < 0 || (size_t)n >= bufsz - *off)
		goto out;
	*off += n;
	ret = 0;
 out:
	explicit_bzero(b64, sizeof(b64));
	return ret;
}

int
keyring_format(const struct keyring *kr, char *buf, size_t bufsz,
    size_t *len)
{
	size_t	 off = 0, i;
	int	 n;

	if (kr->nkeys == 0 || kr->nkeys > KEYRING_MAX_KEYS ||
	    kr->sign_id == 0)
		return -1;
	n = snprintf(buf, bufsz, "%s\n", KEYRING_MAGIC);
	if (n < 0 || (size_t)n >= bufsz)
		return -1;
	off = n;
	for (i = 0; i < kr->nkeys; i++)
		if (format_entry(buf, bufsz, &off, "key", kr->keys[i].id,
		    kr->keys[i].created, kr->keys[i].key) == -1)
			goto fail;
	if (format_entry(buf, bufsz, &off, "sign", kr->sign_id,
	    kr->sign_created, kr->sign_seed) == -1)
		goto fail;
	*len = off;
	return 0;
 fail:
	explicit_bzero(buf, bufsz);
	return -1;
}

/* "readable and writable" for the rwx bits in the low 3 bits of m. */
static void
perm_words(mode_t m, char *buf, size_t bufsz)
{
	const char	*w[3];
	size_t		 n = 0;

	if (m & 4)
		w[n++] = "readable";
	if (m & 2)
		w[n++] = "writable";
	if (m & 1)
		w[n++] = "executable";
	buf[0] = '\0';
	if (n == 1)
		snprintf(buf, bufsz, "%s", w[0]);
	else if (n == 2)
		snprintf(buf, bufsz, "%s and %s", w[0], w[1]);
	else if (n == 3)
		snprintf(buf, bufsz, "%s, %s and %s", w[0], w[1], w[2]);
}

/* "/path: mode 0644 is readable by group and others; chmod 0400 it" */
static void
mode_error(const char *name, mode_t mode, char *err, size_t errlen)
{
	char	 g[48], o[48], who[160];

	perm_words((mode >> 3) & 7, g, sizeof(g));
	perm_words(mode & 7, o, sizeof(o));
	if (g[0] != '\0' && strcmp(g, o) == 0)
		snprintf(who, sizeof(who), "%s by group and others", g);
	else if (g[0] != '\0' && o[0] != '\0')
		snprintf(who, sizeof(who), "%s by group and %s by others", g,
		    o);
	else if (g[0] != '\0')
		snprintf(who, sizeof(who), "%s by group", g);
	else
		snprintf(who, sizeof(who), "%s by others", o);
	snprintf(err, errlen, "%s: mode %04o is %s; chmod 0400 it", name,
	    (unsigned)(mode & 07777), who);
}

static int
check_file(int fd, const char *name, uid_t expected_owner, char *err,
    size_t errlen)
{
	struct stat	 st;

	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: fstat: %s", name, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", name);
		return -1;
	}
	if (st.st_mode & 077) {
		mode_error(name, st.st_mode, err, errlen);
		return -1;
	}
	if (st.st_uid != expected_owner && st.st_uid != 0) {
		snprintf(err, errlen, "%s: owned by uid %u, expected uid %u "
		    "or root", name, (unsigned)st.st_uid,
		    (unsigned)expected_owner);
		return -1;
	}
	if (st.st_size > KEYRING_MAX_FILE) {
		snprintf(err, errlen, "%s: %lld bytes is larger than the %d "
		    "allowed", name, (long long)st.st_size, KEYRING_MAX_FILE);
		return -1;
	}
	return 0;
}

/* Read at most max + 1 bytes from offset 0, so growth is noticed. */
static ssize_t
read_bounded(int fd, char *buf, size_t max)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off <= max) {
		n = pread(fd, buf + off, max + 1 - off, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		off += n;
	}
	return (ssize_t)off;
}

int
keyring_load_fd(int fd, const char *name, uid_t expected_owner,
    struct keyring **out, char *err, size_t errlen)
{
	char	*buf;
	ssize_t	 n;
	int	 ret = -1;

	*out = NULL;
	if (check_file(fd, name, expected_owner, err, errlen) == -1)
		return -1;
	if ((buf = secmem_alloc(KEYRING_MAX_FILE + 1)) == NULL) {
		snprintf(err, errlen, "%s: cannot allocate locked memory: %s",
		    name, strerror(errno));
		return -1;
	}
	if ((n = read_bounded(fd, buf, KEYRING_MAX_FILE)) == -1)
		snprintf(err, errlen, "%s: read: %s", name, strerror(errno));
	else if (n > KEYRING_MAX_FILE)
		snprintf(err, errlen, "%s: larger than %d bytes", name,
		    KEYRING_MAX_FILE);
	else
		ret = keyring_parse(buf, n, name, out, err, errlen);
	secmem_free(buf, KEYRING_MAX_FILE + 1);
	return ret;
}

int
keyring_load(const char *path, uid_t expected_owner, struct keyring **out,
    char *err, size_t errlen)
{
	int	 fd, ret;

	*out = NULL;
	/* O_NONBLOCK: a FIFO planted here must not hang us before fstat. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK);
	if (fd == -1) {
		if (errno == ELOOP)
			snprintf(err, errlen, "%s: is a symbolic link; name "
			    "the file itself", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	ret = keyring_load_fd(fd, path, expected_owner, out, err, errlen);
	close(fd);
	return ret;
}

static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/* fsync the directory holding path, so the rename is durable. */
static int
fsync_dir(const char *path)
{
	char	 dir[PATH_MAX], *slash;
	int	 fd, ret;

	if (strlcpy(dir, path, sizeof(dir)) >= sizeof(dir))
		return -1;
	if ((slash = strrchr(dir, '/')) == NULL)
		strlcpy(dir, ".", sizeof(dir));
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	ret = fsync(fd);
	close(fd);
	return ret;
}

static int
write_tmp(const char *tmp, const char *buf, size_t len, char *err,
    size_t errlen)
{
	int	 fd;

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0400);
	if (fd == -1) {
		if (errno == EEXIST)
			snprintf(err, errlen, "%s: exists, perhaps left by an "
			    "interrupted write; remove it", tmp);
		else
			snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	/* The umask may not widen 0400, but make sure of the exact mode. */
	if (fchmod(fd, 0400) == -1 || write_all(fd, buf, len) == -1 ||
	    fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) == -1) {
		snprintf(err, errlen, "%s: close: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
keyring_write(const struct keyring *kr, const char *path, char *err,
    size_t errlen)
{
	char	 tmp[PATH_MAX], *buf;
	size_t	 len;
	int	 n, ret = -1;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if ((buf = secmem_alloc(KEYRING_MAX_FILE)) == NULL) {
		snprintf(err, errlen, "%s: cannot allocate locked memory: %s",
		    path, strerror(errno));
		return -1;
	}
	if (keyring_format(kr, buf, KEYRING_MAX_FILE, &len) == -1) {
		snprintf(err, errlen, "%s: keyring has no key or no sign key",
		    path);
		goto out;
	}
	if (write_tmp(tmp, buf, len, err, errlen) == -1)
		goto out;
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "rename %s to %s: %s", tmp, path,
		    strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (fsync_dir(path) == -1) {
		snprintf(err, errlen, "%s: fsync directory: %s", path,
		    strerror(errno));
		goto out;
	}
	ret = 0;
 out:
	secmem_free(buf, KEYRING_MAX_FILE);
	return ret;
}
