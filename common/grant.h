/*
 * Grants: authd's access decisions as indexd receives them through the
 * front.  authd writes the grant as JSON and signs it with HMAC-SHA256
 * under the decision key that only authd and indexd hold (the parent made
 * it); the front carries it and can neither forge nor widen it.  A grant
 * is bound to one request id and expires GRANT_TTL_MS after it was made.
 *
 *   {"v":1,"rid":"<request id>","exp":<unix ms>,"action":"read|write",
 *    "user":"<uuid>","org":"<uuid>|""","key":"<api key id>|""",
 *    "owner":"<uuid>|""","collections":["<uuid>",...]}
 *
 * owner names the user whose personal content is in scope ("" = none).
 */
#ifndef BALLAST_GRANT_H
#define BALLAST_GRANT_H

#include <stddef.h>
#include <stdint.h>

#define GRANT_TTL_MS		10000
#define GRANT_MAX_COLLECTIONS	10000
#define GRANT_IDLEN		40

struct grant {
	char		 rid[GRANT_IDLEN];
	int64_t		 exp_ms;
	char		 action[16];
	char		 user[GRANT_IDLEN];
	char		 org[GRANT_IDLEN];
	char		 key[GRANT_IDLEN];
	char		 owner[GRANT_IDLEN];
	size_t		 ncollections;
	char		(*collections)[GRANT_IDLEN];
};

/* authd: the JSON (malloc'd) and its MAC. exp_ms is set here. */
int	grant_sign(const uint8_t key[32], struct grant *, char **json,
	    uint8_t mac[32]);
/*
 * indexd: 0 when the MAC is right, the grant is for request_id, has not
 * expired and parses exactly; out is filled (grant_free it).
 */
int	grant_verify(const uint8_t key[32], const char *json,
	    const uint8_t *mac, size_t maclen, const char *request_id,
	    struct grant *out, char *err, size_t errlen);
void	grant_free(struct grant *);
/* 1 when id is one of the grant's collections. */
int	grant_has_collection(const struct grant *, const char *id);
int64_t	grant_now_ms(void);

#endif
