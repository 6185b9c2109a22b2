/*
 * The embedder registry (one name per backend), the settings of the
 * openai one, what it needs of the sandbox, and the check that the
 * stored vectors were made by the configured embedder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "indexd/embed.h"
#include "indexd/scope.h"

static struct {
	int		 set;
	char		 url[CONF_STR_MAX];
	char		 model[128];
	char		 ca[PATH_MAX];
	size_t		 dim, batch;
	long		 timeout;
	int		 openai;
	const char	*(*key)(const char *);
} econf;


void
embedder_configure(const struct ballast_conf *c,
    const char *(*key)(const char *))
{
	memset(&econf, 0, sizeof(econf));
	econf.set = 1;
	econf.openai = strcmp(c->embedder, "openai") == 0;
	strlcpy(econf.url, c->embedder_url, sizeof(econf.url));
	strlcpy(econf.model, c->embedder_model, sizeof(econf.model));
	strlcpy(econf.ca, c->embedder_ca, sizeof(econf.ca));
	econf.dim = c->embedder_dimension;
	econf.batch = c->embedder_batch;
	econf.timeout = (long)c->embedder_timeout;
	econf.key = key;
}

static int
add_promise(char *promises, size_t len, const char *p)
{
	size_t	 plen = strlen(p), n;
	char	*at;

	for (at = promises; (at = strstr(at, p)) != NULL; at += plen)
		if ((at == promises || at[-1] == ' ') &&
		    (at[plen] == ' ' || at[plen] == '\0'))
			return 0;
	n = strlen(promises);
	if (n + (n > 0) + plen >= len)
		return -1;
	if (n > 0)
		promises[n++] = ' ';
	memcpy(promises + n, p, plen + 1);
	return 0;
}

int
embedder_sandbox(char *promises, size_t len, int unveil)
{
	int		 rv = 0;

	if (!econf.openai)
		return 0;
	rv |= add_promise(promises, len, "inet");
	rv |= add_promise(promises, len, "dns");
	rv |= add_promise(promises, len, "rpath");
	rv |= add_promise(promises, len, "thread");
	if (rv != 0) {
		log_warnx("%s: promises too long", __func__);
		return -1;
	}
	if (!unveil)
		return 0;
	if (econf.ca[0] != '\0' && sandbox_unveil(econf.ca, "r") == -1) {
		log_warn("%s: unveil %s", __func__, econf.ca);
		return -1;
	}
	/* the system's CAs for https without a CA of its own */
	if ((econf.ca[0] == '\0' && strncasecmp(econf.url, "https:", 6) == 0 &&
	    sandbox_unveil_existing(sandbox_system_ca) == -1) ||
	    sandbox_unveil_existing(sandbox_resolver_files) == -1) {
		log_warn("%s: unveil", __func__);
		return -1;
	}
	return 0;
}

static struct embedder *
openai_from_conf(size_t dim)
{
	struct embed_openai_conf	 oc;

	if (!econf.set) {
		log_warnx("%s: the openai embedder is not configured",
		    __func__);
		return NULL;
	}
	memset(&oc, 0, sizeof(oc));
	oc.url = econf.url;
	oc.model = econf.model;
	oc.dim = dim ? dim : econf.dim;
	oc.batch = econf.batch;
	oc.timeout = econf.timeout;
	oc.ca = econf.ca;
	oc.key = econf.key;
	return embed_openai_new(&oc);
}

struct embedder *
embedder_new(const char *name, size_t dim)
{
	if (strcmp(name, "builtin") == 0)
		return embed_builtin_new(dim ? dim : EMBED_BUILTIN_DIM);
	if (strcmp(name, "openai") == 0)
		return openai_from_conf(dim);
	return NULL;
}

void
embedder_free(struct embedder *e)
{
	if (e != NULL)
		e->ops->free(e);
}

int
embed_texts(struct embedder *e, const char *const *texts, const size_t *lens,
    size_t n, float *out, char *err, size_t errlen)
{
	e->status = 0;
	return e->ops->embed(e, texts, lens, n, out, err, errlen);
}

static int
exec_ok(PGconn *db, const char *sql)
{
	PGresult	*r = PQexec(db, sql);
	int		 ok = PQresultStatus(r) == PGRES_COMMAND_OK;

	PQclear(r);
	return ok;
}

/* The other embedders' names and counts as "a (n), b (m)". */
static void
others_list(PGresult *r, char *buf, size_t len)
{
	size_t	 at = 0;
	int	 k;

	buf[0] = '\0';
	for (int i = 0; i < PQntuples(r) && at < len; i++) {
		k = snprintf(buf + at, len - at, "%s\"%.40s\" (%s vectors)",
		    i ? ", " : "", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
		if (k < 0)
			break;
		at += (size_t)k;
	}
}

int
embedder_check_store(struct embedder *e, PGconn *db, char *err,
    size_t errlen)
{
	const char	*p[1] = { e->name };
	PGresult	*r;
	char		 others[256];
	int		 rv = 0;

	if (!exec_ok(db, "BEGIN READ ONLY")) {
		snprintf(err, errlen, "embedder check: BEGIN: %.*s",
		    (int)strcspn(PQerrorMessage(db), "\n"), PQerrorMessage(db));
		return -1;
	}
	if (scope_apply_all(db, err, errlen) == -1) {
		(void)exec_ok(db, "ROLLBACK");
		return -1;
	}
	r = PQexecParams(db, "SELECT embedder, count(*) FROM chunk_vectors "
	    "WHERE embedder <> $1 GROUP BY embedder ORDER BY 2 DESC LIMIT 3",
	    1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "embedder check: %.*s",
		    (int)strcspn(PQresultErrorMessage(r), "\n"),
		    PQresultErrorMessage(r));
		rv = -1;
	} else if (PQntuples(r) == 0)
		e->refuse[0] = '\0';
	else {
		others_list(r, others, sizeof(others));
		snprintf(e->refuse, sizeof(e->refuse), "vector search is off: "
		    "the stored vectors were made by embedder %s, the "
		    "configuration says \"%s\"; run `ballastctl reindex` to "
		    "embed the content again (keyword search still works)",
		    others, e->name);
		log_warnx("indexd: %s", e->refuse);
	}
	PQclear(r);
	(void)exec_ok(db, rv == 0 ? "COMMIT" : "ROLLBACK");
	return rv;
}
