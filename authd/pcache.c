/*
 * What the credential checks and /v1/me read, remembered by generation
 * (issue 12): an API key's row, a session's row, and /v1/me's answer
 * per (user, key's org), each tagged with the auth_generation it was
 * read under (etc/schema/019_auth_generation.sql).
 *
 * Why an entry answers exactly as the database would: a batch's
 * pipeline starts with the generation statement (pcache_gen_item()),
 * which reads gen and the database's now().  Every change that can
 * alter a check or /v1/me's answer increments gen in its own
 * transaction, so an entry tagged with the gen just read reflects every
 * such change committed before that read.  An entry is filled only from
 * a statement sent after the generation statement (later in the same
 * pipeline, or in a later one of the same batch) and tagged with the
 * generation read first: a change committed between the two reads can
 * only make it stale (the next batch reads a newer gen), never make a
 * stale row look current.  Every time-based check (expiry, the previous
 * secret's grace, the last-use touch) is made against the database's
 * now() returned by the generation statement, the now() the pipeline's
 * own statements see.  Refusals are never remembered: a row that does
 * not check out is read again every time.  Nothing is used or filled
 * after any statement of the batch failed (the whole cache is dropped),
 * or once a handler that may write ran in the batch.
 *
 * Direct-mapped: a busy client can only evict, never make anything
 * pass.  Evicted slots are wiped (they hold secret hashes).
 */
#include <limits.h>
#include <string.h>

#include "authd/authd.h"
#include "common/log.h"
#include "common/util.h"

#define PCACHE_SLOTS	1024

struct pc_me {
	char	 user[UUID_LEN + 1];	/* "" = empty */
	char	 org[UUID_LEN + 1];	/* the key's org, "" = a session */
	int64_t	 gen;
	char	*text;		/* "user":{...},"orgs":[...] */
	size_t	 len;
};

static struct {
	struct pc_key		 key[PCACHE_SLOTS];
	struct pc_session	 session[PCACHE_SLOTS];
	struct pc_me		 me[PCACHE_SLOTS];
	int			 current;	/* gen and now are this batch's */
	int64_t			 gen;
	int64_t			 now;
	uint64_t		 hits;
} pc;

static size_t
pcache_slot(const char *a, const char *b)
{
	uint32_t	 h = 2166136261U;	/* FNV-1a */

	for (; *a != '\0'; a++)
		h = (h ^ (unsigned char)*a) * 16777619U;
	for (; b != NULL && *b != '\0'; b++)
		h = (h ^ (unsigned char)*b) * 16777619U;
	return h % PCACHE_SLOTS;
}

static void
pcache_me_wipe(struct pc_me *e)
{
	freezero(e->text, e->len);
	explicit_bzero(e, sizeof(*e));
}

void
pcache_drop(void)
{
	explicit_bzero(pc.key, sizeof(pc.key));
	explicit_bzero(pc.session, sizeof(pc.session));
	for (size_t i = 0; i < PCACHE_SLOTS; i++)
		pcache_me_wipe(&pc.me[i]);
	pc.current = 0;
}

#define PCACHE_GEN_SQL \
	"SELECT gen, (extract(epoch from now()) * 1000000)::bigint " \
	"FROM auth_generation"

void
pcache_gen_item(struct sql_item *q)
{
	memset(q, 0, sizeof(*q));
	q->query = PCACHE_GEN_SQL;
}

/* A bigint column, or dflt when NULL; -1 when it is not a number. */
int
pcache_us(PGresult *res, int row, int col, int64_t dflt, int64_t *v)
{
	const char	*err;

	if (PQgetisnull(res, row, col)) {
		*v = dflt;
		return 0;
	}
	*v = strtonum(PQgetvalue(res, row, col), LLONG_MIN, LLONG_MAX, &err);
	return err == NULL ? 0 : -1;
}

int
pcache_gen_read(struct sql_item *q)
{
	PGresult	*res = q->res;
	int		 ok;

	q->res = NULL;
	pc.current = 0;
	ok = res != NULL && PQntuples(res) == 1 && PQnfields(res) == 2 &&
	    pcache_us(res, 0, 0, -1, &pc.gen) == 0 &&
	    pcache_us(res, 0, 1, -1, &pc.now) == 0 && pc.gen > 0;
	if (res != NULL)
		PQclear(res);
	if (!ok) {
		pcache_drop();
		return -1;
	}
	pc.current = 1;
	return 0;
}

void
pcache_gen_end(void)
{
	pc.current = 0;
}

int
pcache_gen(int64_t *gen, int64_t *now)
{
	if (!pc.current)
		return -1;
	if (gen != NULL)
		*gen = pc.gen;
	if (now != NULL)
		*now = pc.now;
	return 0;
}

/* 0 when an entry of generation gen may be used now; *now filled. */
int
pcache_usable(int64_t gen, int64_t *now)
{
	if (!pc.current || gen != pc.gen)
		return -1;
	*now = pc.now;
	pc.hits++;
	return 0;
}

uint64_t
pcache_hits(void)
{
	return pc.hits;
}

/*
 * The entry for id, or NULL; with fill, its slot wiped and named id
 * (gen 0: not usable until the caller tags it).
 */
struct pc_key *
pcache_key(const char *id, int fill)
{
	struct pc_key	*e = &pc.key[pcache_slot(id, NULL)];

	if (fill) {
		explicit_bzero(e, sizeof(*e));
		strlcpy(e->id, id, sizeof(e->id));
		return e;
	}
	return e->id[0] != '\0' && strcmp(e->id, id) == 0 ? e : NULL;
}

struct pc_session *
pcache_session(const char *id, int fill)
{
	struct pc_session	*e = &pc.session[pcache_slot(id, NULL)];

	if (fill) {
		explicit_bzero(e, sizeof(*e));
		strlcpy(e->id, id, sizeof(e->id));
		return e;
	}
	return e->id[0] != '\0' && strcmp(e->id, id) == 0 ? e : NULL;
}

void
pcache_forget(const char *key_id, const char *session_id)
{
	struct pc_key		*k;
	struct pc_session	*s;

	if (key_id != NULL && (k = pcache_key(key_id, 0)) != NULL)
		explicit_bzero(k, sizeof(*k));
	if (session_id != NULL && (s = pcache_session(session_id, 0)) != NULL)
		explicit_bzero(s, sizeof(*s));
}

/*
 * /v1/me's user and orgs for (user, org) when current, as the JSON text
 * of those two members (borrowed until the next put): kept as text, since
 * dumping them again was most of a cached /v1/me's work in authd.
 */
const char *
pcache_me(const char *user, const char *org)
{
	struct pc_me	*e = &pc.me[pcache_slot(user, org)];
	int64_t		 now;

	if (e->text == NULL || strcmp(e->user, user) != 0 ||
	    strcmp(e->org, org) != 0 || pcache_usable(e->gen, &now) == -1)
		return NULL;
	return e->text;
}

/* Remembers them (a copy) under this batch's gen. */
void
pcache_me_put(const char *user, const char *org, const char *text)
{
	struct pc_me	*e = &pc.me[pcache_slot(user, org)];

	if (!pc.current || text == NULL)
		return;
	pcache_me_wipe(e);
	if ((e->text = strdup(text)) == NULL)
		return;
	e->len = strlen(text);
	strlcpy(e->user, user, sizeof(e->user));
	strlcpy(e->org, org, sizeof(e->org));
	e->gen = pc.gen;
}
