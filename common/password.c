#include <stdlib.h>
#include <string.h>

#include <argon2.h>

#include "common/password.h"

#define SALTLEN		16
#define HASHLEN		32

int
password_hash(const struct password_params *pp, const char *pw, size_t pwlen,
    char *out, size_t outlen)
{
	uint8_t	 salt[SALTLEN];
	size_t	 need;
	int	 rv;

	if (pwlen > PASSWORD_MAX)
		return -1;
	need = argon2_encodedlen(pp->t_cost, pp->m_cost, pp->parallelism,
	    SALTLEN, HASHLEN, Argon2_id);
	if (need > outlen)
		return -1;
	arc4random_buf(salt, sizeof(salt));
	rv = argon2id_hash_encoded(pp->t_cost, pp->m_cost, pp->parallelism,
	    pw, pwlen, salt, sizeof(salt), HASHLEN, out, outlen);
	explicit_bzero(salt, sizeof(salt));
	return rv == ARGON2_OK ? 0 : -1;
}

int
password_verify(const char *encoded, const char *pw, size_t pwlen)
{
	int	 rv;

	if (pwlen > PASSWORD_MAX || strncmp(encoded, "$argon2id$", 10) != 0)
		return -1;
	rv = argon2id_verify(encoded, pw, pwlen);
	if (rv == ARGON2_OK)
		return 1;
	if (rv == ARGON2_VERIFY_MISMATCH)
		return 0;
	return -1;
}
