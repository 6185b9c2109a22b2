/*
 * The "files" connector: the text files under one directory.
 *
 *   {"path": "/srv/docs", "extensions": [".md", ".txt"],
 *    "max_file_size": 4194304}
 *
 * The tree is walked with openat()/fdopendir() from a descriptor of the
 * root, never following a symbolic link (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW),
 * so nothing outside the root is read even when a link points there
 * (Landlock enforces the same in the fetcher).  Hidden names, links,
 * sockets, fifos and devices are skipped.  A document's external id is
 * its path below the root.
 *
 * The cursor is the newest change time seen, in nanoseconds since the
 * epoch.  A file changed strictly before the previous cursor is only
 * reported as kept; the rest are sent (indexd skips unchanged content by
 * its hash).  The change time is the later of mtime and ctime: a file
 * moved or copied in with an old mtime (mv, cp -p, tar x) has a new
 * ctime, so it is not missed.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "common/util.h"
#include "fetcher/connector.h"
#include "fetcher/html.h"

#define FILES_PATH_MAX		4095
#define FILES_MAX_SIZE		(4LL * 1024 * 1024)
#define FILES_MAX_DEPTH		32
#define FILES_MAX_FILES		100000
#define FILES_MAX_EXTS		64
#define FILES_EXT_MAX		32
#define FILES_TITLE_MAX		1024
#define FILES_ID_MAX		512
#define FILES_URL_MAX		2048

static const char *const files_members[] = {
	"path", "extensions", "max_file_size", NULL
};

static const char *const files_default_exts[] = {
	".txt", ".md", ".markdown", ".html", ".htm", NULL
};

enum fkind { FK_TEXT, FK_MARKDOWN, FK_HTML };

struct files_run {
	const char		*root;
	const char		*exts[FILES_MAX_EXTS + 1];
	long long		 max_size;
	long long		 since;		/* previous cursor, ns; 0: none */
	long long		 newest;	/* newest change seen, ns */
	struct fetch_sink	*sink;
	struct fetch_result	*res;
	size_t			 nfiles;
	size_t			 ndocs, nkept, nskipped;
};

/* Absolute, without ".", "..", "//" or a trailing "/" ("/" itself is). */
static int
path_normalised(const char *p)
{
	const char	*c, *e;
	size_t		 n;

	if (p[0] != '/')
		return 0;
	if (p[1] == '\0')
		return 1;
	for (c = p + 1;; c = e + 1) {
		e = strchr(c, '/');
		n = e == NULL ? strlen(c) : (size_t)(e - c);
		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (e == NULL)
			return 1;
	}
}

static int
ext_valid(json_t *v)
{
	const char	*s;
	size_t		 n;

	if (!json_is_string(v))
		return 0;
	s = json_string_value(v);
	n = json_string_length(v);
	return n >= 2 && n <= FILES_EXT_MAX && strlen(s) == n &&
	    s[0] == '.' && strchr(s, '/') == NULL && utf8_valid(s, n);
}

static int
files_check_exts(json_t *config, char *err, size_t errlen)
{
	json_t	*a = json_object_get(config, "extensions"), *v;
	size_t	 i;

	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > FILES_MAX_EXTS) {
		snprintf(err, errlen, "config.extensions: must be an array of "
		    "1 to %d strings", FILES_MAX_EXTS);
		return -1;
	}
	json_array_foreach(a, i, v)
		if (!ext_valid(v)) {
			snprintf(err, errlen, "config.extensions[%zu]: must be "
			    "a string like \".md\" (a dot, no \"/\", at most "
			    "%d bytes)", i, FILES_EXT_MAX);
			return -1;
		}
	return 0;
}

static int
files_check(json_t *config, char *err, size_t errlen)
{
	const char	*path;
	long long	 max;

	if (conf_only(config, files_members, err, errlen) == -1 ||
	    conf_str(config, "path", 1, FILES_PATH_MAX, &path, err,
	    errlen) == -1)
		return -1;
	if (!path_normalised(path)) {
		snprintf(err, errlen, "config.path: must be an absolute path "
		    "without \".\", \"..\", \"//\" or a trailing \"/\"");
		return -1;
	}
	if (!utf8_valid(path, strlen(path))) {
		snprintf(err, errlen, "config.path: must be UTF-8");
		return -1;
	}
	if (files_check_exts(config, err, errlen) == -1 ||
	    conf_int(config, "max_file_size", 1, FILES_MAX_SIZE,
	    FILES_MAX_SIZE, &max, err, errlen) == -1)
		return -1;
	return 0;
}

static int
files_sandbox(json_t *config, struct fetch_sandbox *sb, char *err,
    size_t errlen)
{
	const char	*path;

	if (conf_str(config, "path", 1, FILES_PATH_MAX, &path, err,
	    errlen) == -1)
		return -1;
	memset(sb, 0, sizeof(*sb));
	/* opendir/openat/fstatat/getdents below the root, read only */
	strlcpy(sb->promises, "rpath", sizeof(sb->promises));
	if (strlcpy(sb->paths[0], path, sizeof(sb->paths[0])) >=
	    sizeof(sb->paths[0])) {
		snprintf(err, errlen, "config.path: too long");
		return -1;
	}
	sb->npaths = 1;
	return 0;
}

static void
files_fail(struct files_run *fr, int transient, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
files_fail(struct files_run *fr, int transient, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(fr->res->error, sizeof(fr->res->error), fmt, ap);
	va_end(ap);
	fr->res->transient = transient;
}

/* Which kind of file name is, or -1 when it is not one we index. */
static int
files_kind(const struct files_run *fr, const char *name)
{
	size_t	 nlen = strlen(name), elen;
	const char *ext;

	for (size_t i = 0; (ext = fr->exts[i]) != NULL; i++) {
		elen = strlen(ext);
		/* "a.md" yes, ".md" (hidden anyway) no */
		if (nlen <= elen || strcasecmp(name + nlen - elen, ext) != 0)
			continue;
		if (strcasecmp(ext, ".md") == 0 ||
		    strcasecmp(ext, ".markdown") == 0)
			return FK_MARKDOWN;
		if (strcasecmp(ext, ".html") == 0 ||
		    strcasecmp(ext, ".htm") == 0)
			return FK_HTML;
		return FK_TEXT;
	}
	return -1;
}

static long long
ts_ns(const struct timespec *ts)
{
	return (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static long long
change_ns(const struct stat *st)
{
	long long	 m = ts_ns(&st->st_mtim), c = ts_ns(&st->st_ctim);

	return m > c ? m : c;
}

static void
rfc3339(time_t t, char *buf, size_t len)
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		buf[0] = '\0';
}

/* Copy at most max bytes of s[0..n) into out, cut on a character. */
static void
copy_utf8(char *out, size_t outlen, const char *s, size_t n)
{
	if (n > outlen - 1)
		n = outlen - 1;
	while (n > 0 && !utf8_valid(s, n))
		n--;
	memcpy(out, s, n);
	out[n] = '\0';
}

/* The first "# " heading of a Markdown text, trimmed; "" if none. */
static void
md_title(const char *text, size_t len, char *title, size_t titlelen)
{
	const char	*line = text, *end = text + len, *nl, *b, *e;

	title[0] = '\0';
	for (; line < end; line = nl + 1) {
		nl = memchr(line, '\n', end - line);
		if (nl == NULL)
			nl = end;
		if (nl - line < 2 || line[0] != '#' || line[1] != ' ')
			continue;
		for (b = line + 2; b < nl && (*b == ' ' || *b == '\t'); b++)
			;
		for (e = nl; e > b && (e[-1] == ' ' || e[-1] == '\t' ||
		    e[-1] == '\r' || e[-1] == '#'); e--)
			;
		if (e > b) {
			copy_utf8(title, titlelen, b, e - b);
			return;
		}
	}
}

/* Read an open regular file of at most max bytes; NULL when it is not. */
static char *
files_slurp(int fd, long long max, size_t *lenp)
{
	char	*buf;
	size_t	 len = 0;
	ssize_t	 n;

	if ((buf = malloc((size_t)max + 2)) == NULL)
		return NULL;
	/* one byte more than allowed tells a file that grew meanwhile */
	while (len <= (size_t)max) {
		n = read(fd, buf + len, (size_t)max + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > (size_t)max) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* The document for one file's content; -1 stops the run. */
static int
files_send(struct files_run *fr, const char *rel, const char *name,
    int kind, char *data, size_t len, const struct stat *st)
{
	struct fetch_doc	 d;
	char			 title[FILES_TITLE_MAX + 1], url[FILES_URL_MAX + 1];
	char			 mtime[32], *text = data, *meta = NULL;
	json_t			*m;
	size_t			 tlen = len;
	int			 n, rc;

	title[0] = '\0';
	if (kind == FK_HTML) {
		if ((text = html_to_text(data, len, &tlen, title,
		    sizeof(title))) == NULL) {
			files_fail(fr, 1, "files: %s: out of memory", rel);
			return -1;
		}
		/* U+FFFD for bad bytes can make it longer than the file */
		if (tlen > FETCH_MAX_BODY) {
			while (tlen > FETCH_MAX_BODY ||
			    (tlen > 0 && ((unsigned char)text[tlen] & 0xc0) ==
			    0x80))
				tlen--;
			text[tlen] = '\0';
		}
	} else if (!utf8_valid(data, len)) {
		log_warnx("%s: %s: not UTF-8 text, skipped", __func__, rel);
		fr->nskipped++;
		return 0;
	} else if (kind == FK_MARKDOWN)
		md_title(data, len, title, sizeof(title));
	if (title[0] == '\0')
		copy_utf8(title, sizeof(title), name, strlen(name));
	n = strcmp(fr->root, "/") == 0 ?
	    snprintf(url, sizeof(url), "file:///%s", rel) :
	    snprintf(url, sizeof(url), "file://%s/%s", fr->root, rel);
	if (n < 0 || (size_t)n >= sizeof(url))
		url[0] = '\0';	/* no link rather than a wrong one */
	rfc3339(st->st_mtim.tv_sec, mtime, sizeof(mtime));
	if ((m = json_pack("{s:s,s:I,s:s}", "path", rel, "size",
	    (json_int_t)st->st_size, "mtime", mtime)) != NULL)
		meta = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	memset(&d, 0, sizeof(d));
	d.external_id = rel;
	d.title = title;
	d.url = url;
	d.text = text;
	d.text_len = tlen;
	d.metadata = meta;
	d.updated_at = mtime;
	rc = meta == NULL ? -1 : fr->sink->doc(fr->sink, &d);
	if (meta == NULL)
		files_fail(fr, 1, "files: %s: out of memory", rel);
	free(meta);
	if (text != data)
		free(text);
	if (rc == 0)
		fr->ndocs++;
	return rc;
}

/* One regular file of an indexed kind; -1 stops the run. */
static int
files_file(struct files_run *fr, int dfd, const char *name, const char *rel,
    int kind, const struct stat *lst)
{
	struct stat	 st;
	char		*data;
	size_t		 len;
	long long	 ch = change_ns(lst);
	int		 fd, rc;

	if (lst->st_size > fr->max_size) {
		log_warnx("%s: %s: larger than %lld bytes, skipped", __func__,
		    rel, fr->max_size);
		fr->nskipped++;
		return 0;
	}
	if (ch > fr->newest)
		fr->newest = ch;
	if (fr->since > 0 && ch < fr->since) {
		if (fr->sink->keep(fr->sink, rel) == -1)
			return -1;
		fr->nkept++;
		return 0;
	}
	/* O_NONBLOCK: should it have become a fifo meanwhile, no hang */
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (data = files_slurp(fd, fr->max_size, &len)) == NULL) {
		log_warn("%s: %s: skipped", __func__, rel);
		if (fd != -1)
			close(fd);
		fr->nskipped++;
		return 0;
	}
	close(fd);
	if (change_ns(&st) > fr->newest)
		fr->newest = change_ns(&st);
	rc = files_send(fr, rel, name, kind, data, len, &st);
	free(data);
	return rc;
}

static int	files_walk(struct files_run *, int, const char *, int);

/* One directory entry; -1 stops the run. */
static int
files_entry(struct files_run *fr, int dfd, const char *name,
    const char *prefix, int depth)
{
	struct stat	 st;
	char		 rel[PATH_MAX];
	int		 n, fd, kind;

	if (name[0] == '.')
		return 0;	/* hidden, and "." and ".." */
	n = prefix[0] == '\0' ? snprintf(rel, sizeof(rel), "%s", name) :
	    snprintf(rel, sizeof(rel), "%s/%s", prefix, name);
	if (n < 0 || (size_t)n >= sizeof(rel) ||
	    !utf8_valid(rel, (size_t)n)) {
		log_warnx("%s: a name in \"%s\" is too long or not UTF-8, "
		    "skipped", __func__, prefix);
		fr->nskipped++;
		return 0;
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno != ENOENT)	/* gone meanwhile: nothing to say */
			log_warn("%s: %s", __func__, rel);
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		if (depth + 1 > FILES_MAX_DEPTH) {
			log_warnx("%s: %s: deeper than %d levels, skipped",
			    __func__, rel, FILES_MAX_DEPTH);
			return 0;
		}
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd == -1) {
			log_warn("%s: %s: skipped", __func__, rel);
			return 0;
		}
		return files_walk(fr, fd, rel, depth + 1);
	}
	/* links, sockets, fifos, devices: never */
	if (!S_ISREG(st.st_mode) || (kind = files_kind(fr, name)) == -1)
		return 0;
	if (++fr->nfiles > FILES_MAX_FILES) {
		files_fail(fr, 0, "files: more than %d files under %s",
		    FILES_MAX_FILES, fr->root);
		return -1;
	}
	if ((size_t)n > FILES_ID_MAX) {
		log_warnx("%s: %.64s...: path longer than %d bytes, skipped",
		    __func__, rel, FILES_ID_MAX);
		fr->nskipped++;
		return 0;
	}
	return files_file(fr, dfd, name, rel, kind, &st);
}

/* Walk the directory open as dfd (taken over and closed). */
static int
files_walk(struct files_run *fr, int dfd, const char *prefix, int depth)
{
	struct dirent	*de;
	DIR		*d;
	int		 rc = 0;

	if ((d = fdopendir(dfd)) == NULL) {
		files_fail(fr, 1, "files: %s/%s: %s", fr->root, prefix,
		    strerror(errno));
		close(dfd);
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if ((rc = files_entry(fr, dirfd(d), de->d_name, prefix,
		    depth)) == -1)
			break;
	}
	/* a directory read in part would make its other files look gone */
	if (rc == 0 && errno != 0) {
		files_fail(fr, 1, "files: reading %s/%s: %s", fr->root,
		    prefix, strerror(errno));
		rc = -1;
	}
	closedir(d);
	return rc;
}

static int
files_setup(struct files_run *fr, const struct fetch_job *job,
    struct fetch_result *res)
{
	json_t		*a, *v;
	const char	*errstr;
	size_t		 i;

	if (files_check(job->config, res->error, sizeof(res->error)) == -1)
		return -1;
	fr->root = json_string_value(json_object_get(job->config, "path"));
	conf_int(job->config, "max_file_size", 1, FILES_MAX_SIZE,
	    FILES_MAX_SIZE, &fr->max_size, res->error, sizeof(res->error));
	if ((a = json_object_get(job->config, "extensions")) != NULL)
		json_array_foreach(a, i, v)
			fr->exts[i] = json_string_value(v);
	else
		for (i = 0; files_default_exts[i] != NULL; i++)
			fr->exts[i] = files_default_exts[i];
	if (job->cursor != NULL && job->cursor[0] != '\0') {
		fr->since = strtonum(job->cursor, 1, LLONG_MAX, &errstr);
		if (errstr != NULL) {
			/* everything is sent again: slower, never wrong */
			log_warnx("%s: cursor is %s, ignored", __func__, errstr);
			fr->since = 0;
		}
	}
	return 0;
}

/* Why the root does not open, for the job's error. */
static void
files_root_error(struct files_run *fr)
{
	struct stat	 st;
	int		 saved = errno;

	/* O_NOFOLLOW|O_DIRECTORY on a link fails with ENOTDIR or ELOOP */
	if ((saved == ENOTDIR || saved == ELOOP) &&
	    lstat(fr->root, &st) == 0 && S_ISLNK(st.st_mode)) {
		files_fail(fr, 0, "files: %s: is a symbolic link", fr->root);
		return;
	}
	/* a missing root may be a file system not mounted yet */
	files_fail(fr, saved == ENOENT || saved == EIO || saved == ENOMEM ||
	    saved == EMFILE || saved == ENFILE, "files: %s: %s", fr->root,
	    strerror(saved));
}

static int
files_run(const struct fetch_job *job, struct fetch_sink *sink,
    struct fetch_result *res)
{
	struct files_run	 fr;
	int			 fd;

	memset(&fr, 0, sizeof(fr));
	fr.sink = sink;
	fr.res = res;
	if (files_setup(&fr, job, res) == -1)
		return -1;
	fd = open(fr.root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		files_root_error(&fr);
		return -1;
	}
	if (files_walk(&fr, fd, "", 0) == -1) {
		if (res->error[0] == '\0')
			snprintf(res->error, sizeof(res->error), "files: %.500s",
			    sink->sink_error[0] ? sink->sink_error :
			    "the run was stopped");
		return -1;
	}
	if (fr.newest > 0)
		snprintf(res->cursor, sizeof(res->cursor), "%lld", fr.newest);
	else
		res->cursor[0] = '\0';
	res->complete = 1;
	log_info("%s: %s: %zu sent, %zu kept, %zu skipped", __func__, fr.root,
	    fr.ndocs, fr.nkept, fr.nskipped);
	return 0;
}

const struct connector conn_files = {
	"files", files_check, files_sandbox, files_run
};
