#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include "common/grant.h"

int64_t
grant_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
grant_mac(const uint8_t key[32], const char *json, uint8_t mac[32])
{
	unsigned int	 len = 0;

	if (HMAC(EVP_sha256(), key, 32, (const unsigned char *)json,
	    strlen(json), mac, &len) == NULL || len != 32)
		return -1;
	return 0;
}

int
grant_sign(const uint8_t key[32], struct grant *g, char **json,
    uint8_t mac[32])
{
	json_t	*o, *cols;

	g->exp_ms = grant_now_ms() + GRANT_TTL_MS;
	if ((cols = json_array()) == NULL)
		return -1;
	for (size_t i = 0; i < g->ncollections; i++)
		json_array_append_new(cols, json_string(g->collections[i]));
	o = json_pack("{s:i,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:o}", "v", 1,
	    "rid", g->rid, "exp", (json_int_t)g->exp_ms, "action", g->action,
	    "user", g->user, "org", g->org, "key", g->key, "owner", g->owner,
	    "collections", cols);
	if (o == NULL)
		return -1;
	*json = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (*json == NULL)
		return -1;
	if (grant_mac(key, *json, mac) == -1) {
		free(*json);
		*json = NULL;
		return -1;
	}
	return 0;
}

static int
grant_str(json_t *o, const char *name, char *dst, size_t len, int empty_ok)
{
	json_t		*v = json_object_get(o, name);
	const char	*s;

	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	if ((!empty_ok && *s == '\0') || strlcpy(dst, s, len) >= len)
		return -1;
	return 0;
}

static int
grant_parse(json_t *o, struct grant *g)
{
	json_t	*cols, *v;
	size_t	 i;

	if (!json_is_object(o) || json_object_size(o) != 9 ||
	    json_integer_value(json_object_get(o, "v")) != 1 ||
	    !json_is_integer(json_object_get(o, "exp")) ||
	    grant_str(o, "rid", g->rid, sizeof(g->rid), 0) == -1 ||
	    grant_str(o, "action", g->action, sizeof(g->action), 0) == -1 ||
	    grant_str(o, "user", g->user, sizeof(g->user), 0) == -1 ||
	    grant_str(o, "org", g->org, sizeof(g->org), 1) == -1 ||
	    grant_str(o, "key", g->key, sizeof(g->key), 1) == -1 ||
	    grant_str(o, "owner", g->owner, sizeof(g->owner), 1) == -1)
		return -1;
	g->exp_ms = json_integer_value(json_object_get(o, "exp"));
	cols = json_object_get(o, "collections");
	if (!json_is_array(cols) ||
	    json_array_size(cols) > GRANT_MAX_COLLECTIONS)
		return -1;
	g->ncollections = json_array_size(cols);
	g->collections = calloc(g->ncollections ? g->ncollections : 1,
	    sizeof(*g->collections));
	if (g->collections == NULL)
		return -1;
	json_array_foreach(cols, i, v) {
		if (!json_is_string(v) || strlcpy(g->collections[i],
		    json_string_value(v), GRANT_IDLEN) >= GRANT_IDLEN)
			return -1;
	}
	return 0;
}

int
grant_verify(const uint8_t key[32], const char *json, const uint8_t *mac,
    size_t maclen, const char *request_id, struct grant *g, char *err,
    size_t errlen)
{
	uint8_t		 want[32];
	json_t		*o;
	json_error_t	 jerr;
	int		 rv;

	memset(g, 0, sizeof(*g));
	if (maclen != sizeof(want) || grant_mac(key, json, want) == -1 ||
	    CRYPTO_memcmp(want, mac, sizeof(want)) != 0) {
		snprintf(err, errlen, "grant: bad signature");
		return -1;
	}
	o = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	rv = grant_parse(o, g);
	json_decref(o);
	if (rv == -1) {
		grant_free(g);
		snprintf(err, errlen, "grant: malformed");
		return -1;
	}
	if (strcmp(g->rid, request_id) != 0 || g->exp_ms < grant_now_ms()) {
		grant_free(g);
		snprintf(err, errlen, "grant: not for this request or expired");
		return -1;
	}
	return 0;
}

void
grant_free(struct grant *g)
{
	free(g->collections);
	g->collections = NULL;
	g->ncollections = 0;
}

int
grant_has_collection(const struct grant *g, const char *id)
{
	for (size_t i = 0; i < g->ncollections; i++)
		if (strcmp(g->collections[i], id) == 0)
			return 1;
	return 0;
}
