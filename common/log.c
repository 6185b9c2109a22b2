/*
 * Logging: syslog(3) as a daemon, stderr in the foreground.  log_init()
 * must run before chroot so that openlog() can reach /dev/log; LOG_NDELAY
 * opens the socket at once.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static int	 log_foreground = 1;
static int	 log_level = LOG_LEVEL_INFO;
static char	 log_name[32] = "ballast";

static const char *const level_names[] = { "warn", "info", "debug" };

void
log_init(int foreground, int level, const char *procname)
{
	log_foreground = foreground;
	log_level = level;
	log_procname(procname);
	if (!foreground)
		openlog(log_name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

void
log_procname(const char *procname)
{
	if (procname != NULL)
		strlcpy(log_name, procname, sizeof(log_name));
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

const char *
log_level_name(int level)
{
	if (level < 0 || level > LOG_LEVEL_DEBUG)
		return "info";
	return level_names[level];
}

int
log_level_parse(const char *name)
{
	for (int i = 0; i <= LOG_LEVEL_DEBUG; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

/* Nowhere left to complain if stderr fails. */
static void
log_write_stderr(const char *buf, size_t len)
{
	int	 saved = errno;
	ssize_t	 n;

	n = write(STDERR_FILENO, buf, len);
	(void)n;
	errno = saved;
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	char	 line[2048];
	int	 saved = errno;

	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_foreground) {
		/* One write per line so lines of concurrent processes never mix. */
		char	 out[2200];
		int	 n;

		n = snprintf(out, sizeof(out), "%s[%d]: %s\n", log_name,
		    (int)getpid(), line);
		if (n > 0)
			log_write_stderr(out, (size_t)n < sizeof(out) ?
			    (size_t)n : sizeof(out) - 1);
	} else
		syslog(pri, "%s", line);
	errno = saved;
}

static void
logit(int pri, int level, const char *fmt, va_list ap)
{
	if (level > log_level)
		return;
	vlog(pri, fmt, ap);
}

static void
vlog_errno(int pri, const char *fmt, va_list ap)
{
	char	 buf[1024];
	int	 saved = errno;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (saved != 0) {
		size_t	 n = strlen(buf);

		snprintf(buf + n, sizeof(buf) - n, ": %s", strerror(saved));
	}
	log_warnx("%s", buf);
	errno = saved;
	(void)pri;
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog_errno(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	logit(LOG_ERR, LOG_LEVEL_WARN, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	logit(LOG_INFO, LOG_LEVEL_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	logit(LOG_DEBUG, LOG_LEVEL_DEBUG, fmt, ap);
	va_end(ap);
}

/*
 * Access lines (each ending in a newline), at level info with the word
 * "access".  In the foreground they go in as few write(2)s as fit in
 * PIPE_BUF, so a batch is never interleaved with another process's lines.
 */
void
log_access_lines(const char *lines, size_t len)
{
	char		 out[PIPE_BUF], prefix[64];
	const char	*p = lines, *end = lines + len, *nl;
	size_t		 used = 0, plen, n;
	int		 k;

	if (log_level < LOG_LEVEL_INFO)
		return;
	k = snprintf(prefix, sizeof(prefix), "%s[%d]: access ", log_name,
	    (int)getpid());
	plen = k > 0 && (size_t)k < sizeof(prefix) ? (size_t)k : 0;
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end - 1;	/* the caller's lines end in \n */
		n = (size_t)(nl - p) + 1;
		if (!log_foreground) {
			syslog(LOG_INFO, "access %.*s", (int)(n - 1), p);
			continue;
		}
		if (used + plen + n > sizeof(out) && used > 0) {
			log_write_stderr(out, used);
			used = 0;
		}
		if (plen + n > sizeof(out))
			continue;	/* cannot be: lines are under 2048 */
		memcpy(out + used, prefix, plen);
		memcpy(out + used + plen, p, n);
		used += plen + n;
	}
	if (used > 0)
		log_write_stderr(out, used);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}
