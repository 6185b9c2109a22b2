/* Small helpers shared by every process.  The x* allocators fatal on failure. */
#ifndef BALLAST_UTIL_H
#define BALLAST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

void	*xcalloc(size_t nmemb, size_t size);
void	*xreallocarray(void *ptr, size_t nmemb, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);

/* 1 when s[0..len) is valid UTF-8 without NUL bytes. */
int	 utf8_valid(const char *s, size_t len);
/* Monotonic clock in milliseconds. */
uint64_t now_ms(void);
/* Set O_NONBLOCK and FD_CLOEXEC. */
int	 fd_nonblock(int fd);
int	 fd_cloexec(int fd, int on);

#endif
