/* Password hashing: Argon2id (libargon2), PHC-encoded strings. */
#ifndef BALLAST_PASSWORD_H
#define BALLAST_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#define PASSWORD_MIN		8
#define PASSWORD_MAX		1024	/* bytes; longer is refused, not cut */
#define PASSWORD_HASH_MAX	256

struct password_params {
	uint32_t	 t_cost;	/* iterations */
	uint32_t	 m_cost;	/* KiB */
	uint32_t	 parallelism;
};

/* OWASP's Argon2id minimum: 19 MiB, 2 iterations, 1 lane. */
#define PASSWORD_DEFAULT_PARAMS	{ 2, 19456, 1 }

/* 0 and the encoded hash in out, or -1. */
int	password_hash(const struct password_params *, const char *pw,
	    size_t pwlen, char *out, size_t outlen);
/* 1 when pw matches encoded, 0 when not, -1 when encoded is unusable. */
int	password_verify(const char *encoded, const char *pw, size_t pwlen);

#endif
