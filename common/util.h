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

/* Big-endian 32-bit integers in byte strings (IPC frames, sealed secrets). */
static inline uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* 1 when s[0..len) is valid UTF-8 without NUL bytes. */
int	 utf8_valid(const char *s, size_t len);
int	 rfc3339_valid(const char *s);
/* Monotonic clock in milliseconds. */
uint64_t now_ms(void);
/* Set O_NONBLOCK and FD_CLOEXEC. */
int	 fd_nonblock(int fd);
int	 fd_cloexec(int fd, int on);

#endif
