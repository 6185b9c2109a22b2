/*
 * Logging for every Ballast process: syslog by default, stderr when in the
 * foreground.  Messages start with the function name by convention; no
 * daemon calls printf.  fatal/fatalx never return.
 */
#ifndef BALLAST_LOG_H
#define BALLAST_LOG_H

#include <stdarg.h>
#include <stddef.h>

#define LOG_LEVEL_WARN	0
#define LOG_LEVEL_INFO	1
#define LOG_LEVEL_DEBUG	2

/* Call before chroot: openlog() needs /dev/log. */
void	log_init(int foreground, int level, const char *procname);
void	log_setlevel(int level);
int	log_getlevel(void);
void	log_procname(const char *procname);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	vlog(int pri, const char *, va_list) __attribute__((format(printf, 2, 0)));
/*
 * Requests' access-log lines, each ending in a newline; written at info
 * level with the word "access", in few writes.
 */
void	log_access_lines(const char *lines, size_t len);

__attribute__((noreturn)) void fatal(const char *, ...)
    __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatalx(const char *, ...)
    __attribute__((format(printf, 1, 2)));

/* Level names as written in the config file: warn, info, debug. */
const char *log_level_name(int level);
int	log_level_parse(const char *name);

#endif
