/* The caller's scope and how it reaches PostgreSQL (see scope.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "indexd/scope.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
uuid_parse(const char *s, uint8_t out[16])
{
	int	 hi, lo, j = 0;

	for (int i = 0; i < 36; ) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i++] != '-')
				return -1;
			continue;
		}
		if ((hi = hexval((unsigned char)s[i])) == -1 ||
		    (lo = hexval((unsigned char)s[i + 1])) == -1)
			return -1;
		out[j++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return s[36] == '\0' ? 0 : -1;
}

void
uuid_format(const uint8_t in[16], char out[UUID_STR_LEN])
{
	static const char hex[] = "0123456789abcdef";
	int	 o = 0;

	for (int j = 0; j < 16; j++) {
		if (j == 4 || j == 6 || j == 8 || j == 10)
			out[o++] = '-';
		out[o++] = hex[in[j] >> 4];
		out[o++] = hex[in[j] & 15];
	}
	out[o] = '\0';
}

static int
canonical(const char *s, char out[UUID_STR_LEN])
{
	uint8_t	 b[16];

	if (s == NULL || uuid_parse(s, b) == -1)
		return -1;
	uuid_format(b, out);
	return 0;
}

int
scope_add_collection(struct scope *sc, const char *s)
{
	char	 u[UUID_STR_LEN];

	if (canonical(s, u) == -1 ||
	    sc->ncollections >= SCOPE_MAX_COLLECTIONS)
		return -1;
	if (scope_has_collection(sc, u))
		return 0;
	sc->collections = xreallocarray(sc->collections,
	    sc->ncollections + 1, sizeof(*sc->collections));
	memcpy(sc->collections[sc->ncollections++], u, UUID_STR_LEN);
	return 0;
}

int
scope_set_owner(struct scope *sc, const char *s)
{
	if (s == NULL || *s == '\0') {
		sc->owner[0] = '\0';
		return 0;
	}
	return canonical(s, sc->owner);
}

void
scope_free(struct scope *sc)
{
	free(sc->collections);
	memset(sc, 0, sizeof(*sc));
}

int
scope_has_collection(const struct scope *sc, const char *uuid)
{
	for (size_t i = 0; i < sc->ncollections; i++)
		if (strcmp(sc->collections[i], uuid) == 0)
			return 1;
	return 0;
}

static char *
join(const struct scope *sc, const char *open, const char *close)
{
	size_t	 cap = sc->ncollections * UUID_STR_LEN + 3, len;
	char	*s = xcalloc(1, cap);

	len = strlcpy(s, open, cap);
	for (size_t i = 0; i < sc->ncollections; i++) {
		if (i > 0)
			s[len++] = ',';
		memcpy(s + len, sc->collections[i], UUID_STR_LEN - 1);
		len += UUID_STR_LEN - 1;
	}
	strlcpy(s + len, close, cap - len);
	return s;
}

char *
scope_csv(const struct scope *sc)
{
	return join(sc, "", "");
}

char *
scope_array(const struct scope *sc)
{
	return join(sc, "{", "}");
}

static int
set_settings(PGconn *db, const char *coll, const char *owner,
    const char *all, char *err, size_t errlen)
{
	const char	*p[3] = { coll, owner, all };
	PGresult	*r;
	int		 ok;

	r = PQexecParams(db, "SELECT set_config('ballast.collections', $1, "
	    "true), set_config('ballast.owner', $2, true), "
	    "set_config('ballast.load_all', $3, true)", 3, NULL, p, NULL, NULL, 0);
	ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		snprintf(err, errlen, "scope: %.*s",
		    (int)strcspn(PQresultErrorMessage(r), "\n"),
		    PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

int
scope_apply(PGconn *db, const struct scope *sc, char *err, size_t errlen)
{
	char	*csv = scope_csv(sc);
	int	 rv;

	rv = set_settings(db, csv, sc->owner, "", err, errlen);
	free(csv);
	return rv;
}

int
scope_apply_all(PGconn *db, char *err, size_t errlen)
{
	return set_settings(db, "", "", "on", err, errlen);
}
