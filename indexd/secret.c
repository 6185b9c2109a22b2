/*
 * Deployment secrets (secret.h): sealed by keyd, stored sealed, opened
 * by keyd at start, kept in memory for indexd's own requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ipc.h"
#include "common/log.h"
#include "common/util.h"
#include "indexd/secret.h"

#define SECRET_MAX		16	/* secrets in memory at most */
#define SECRET_CTX_ORG		"deployment"

static struct secret {
	char		 name[SECRET_MAX_NAME + 1];
	char		*value;		/* NUL-terminated; NULL: not open */
	size_t		 len;
	uint64_t	 key_id;	/* outstanding keyd request, 0: none */
	int		 used;
} secrets[SECRET_MAX];

/* A "secret-set" waiting for keyd's seal. */
static struct {
	uint64_t	 key_id;
	uint64_t	 ctl_id;
	char		 name[SECRET_MAX_NAME + 1];
	uint8_t		*value;
	size_t		 len;
} pending_set;

static int	loading;	/* opens outstanding since secret_init */

static void
pending_clear(void)
{
	if (pending_set.value != NULL)
		freezero(pending_set.value, pending_set.len);
	memset(&pending_set, 0, sizeof(pending_set));
}

static void
answer(struct child *c, uint64_t id, int ok, const char *m)
{
	struct imsg_ctl_result	 r;

	r.ok = ok;
	r.message = (char *)m;
	if (ipc_send(c->parent, IMSG_CTL_ADMIN_REP, id, &r, -1) == -1)
		log_warnx("%s: cannot answer the parent", __func__);
}

static int
name_ok(const char *n)
{
	size_t	 len = strlen(n);

	return len >= 1 && len <= SECRET_MAX_NAME && n[0] >= 'a' &&
	    n[0] <= 'z' && strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789-")
	    == len;
}

static struct secret *
find(const char *name, int create)
{
	struct secret	*free_slot = NULL;

	for (size_t i = 0; i < nitems(secrets); i++) {
		if (secrets[i].used && strcmp(secrets[i].name, name) == 0)
			return &secrets[i];
		if (!secrets[i].used && free_slot == NULL)
			free_slot = &secrets[i];
	}
	if (!create || free_slot == NULL)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = 1;
	strlcpy(free_slot->name, name, sizeof(free_slot->name));
	return free_slot;
}

static void
drop_value(struct secret *s)
{
	if (s->value != NULL)
		freezero(s->value, s->len + 1);
	s->value = NULL;
	s->len = 0;
}

static void
set_value(struct secret *s, const uint8_t *v, size_t len)
{
	drop_value(s);
	s->value = xcalloc(1, len + 1);
	memcpy(s->value, v, len);
	s->len = len;
}

const char *
secret_get(const char *name)
{
	struct secret	*s = find(name, 0);

	return s != NULL ? s->value : NULL;
}

int
secret_ready(void)
{
	return loading == 0;
}

static int
keyd_req(struct child *c, enum ipc_type type, const char *name,
    const uint8_t *data, size_t len, uint64_t *id)
{
	struct imsg_key_req	 k;

	memset(&k, 0, sizeof(k));
	k.org = (char *)SECRET_CTX_ORG;
	k.source = (char *)name;
	k.data.data = (uint8_t *)data;
	k.data.len = len;
	*id = ipc_next_id();
	return child_send(c, PROC_KEYD, type, *id, &k, -1);
}

/*
 * Open every stored secret.  Called when keyd's channel comes up (at
 * start and after keyd restarts), so a secret set while keyd was away
 * is opened then.
 */
void
secret_init(struct child *c, PGconn *db)
{
	PGresult	*res;

	/* a keyd that went away answers nothing it was asked before */
	for (size_t i = 0; i < nitems(secrets); i++)
		secrets[i].key_id = 0;
	loading = 0;
	if (pending_set.key_id != 0) {
		answer(c, pending_set.ctl_id, 0, "keyd restarted; set the "
		    "secret again");
		pending_clear();
	}
	res = PQexecParams(db, "SELECT name, sealed FROM deploy_secrets "
	    "ORDER BY name", 0, NULL, NULL, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("indexd: cannot read the deployment secrets: %s",
		    PQerrorMessage(db));
		PQclear(res);
		return;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		char		 name[SECRET_MAX_NAME + 1];
		struct secret	*s;
		int		 nlen = PQgetlength(res, i, 0);

		if (nlen <= 0 || nlen > SECRET_MAX_NAME)
			continue;
		memcpy(name, PQgetvalue(res, i, 0), (size_t)nlen);
		name[nlen] = '\0';
		if ((s = find(name, 1)) == NULL) {
			log_warnx("indexd: too many deployment secrets");
			break;
		}
		if (s->key_id != 0)
			continue;
		if (keyd_req(c, IMSG_KEY_OPEN, name, (const uint8_t *)
		    PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1),
		    &s->key_id) == -1) {
			s->key_id = 0;
			log_warnx("indexd: keyd is not reachable for secret %s",
			    name);
			continue;
		}
		loading++;
	}
	PQclear(res);
}

static void
store_sealed(struct child *c, PGconn *db, const struct imsg_key_data *d)
{
	PGresult	*res;
	const char	*v[2];
	int		 lens[2] = { 0, (int)d->data.len }, fmts[2] = { 0, 1 };
	char		 m[128];
	struct secret	*s;

	v[0] = pending_set.name;
	v[1] = (const char *)d->data.data;
	res = PQexecParams(db, "INSERT INTO deploy_secrets (name, sealed) "
	    "VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET sealed = "
	    "EXCLUDED.sealed, updated_at = now()", 2, NULL, v, lens, fmts, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_warnx("indexd: cannot store secret %s: %s",
		    pending_set.name, PQerrorMessage(db));
		answer(c, pending_set.ctl_id, 0, "the secret could not be "
		    "stored");
	} else if ((s = find(pending_set.name, 1)) == NULL)
		answer(c, pending_set.ctl_id, 0, "too many secrets");
	else {
		set_value(s, pending_set.value, pending_set.len);
		log_info("indexd: deployment secret %s set", pending_set.name);
		snprintf(m, sizeof(m), "secret %s set", pending_set.name);
		answer(c, pending_set.ctl_id, 1, m);
	}
	PQclear(res);
}

int
secret_key_reply(struct child *c, PGconn *db, struct ipc_msg *msg)
{
	int	 ok = msg->type == IMSG_KEY_RESULT;

	if (pending_set.key_id != 0 && msg->id == pending_set.key_id) {
		if (ok)
			store_sealed(c, db, msg->body);
		else
			answer(c, pending_set.ctl_id, 0, "keyd could not seal "
			    "the secret");
		pending_clear();
		return 1;
	}
	for (size_t i = 0; i < nitems(secrets); i++) {
		struct secret		*s = &secrets[i];
		struct imsg_key_data	*d = msg->body;

		if (!s->used || s->key_id != msg->id)
			continue;
		s->key_id = 0;
		loading--;
		if (!ok) {
			log_warnx("indexd: deployment secret %s cannot be "
			    "opened; set it again", s->name);
			return 1;
		}
		if (d->data.len > SECRET_MAX_VALUE ||
		    memchr(d->data.data, '\0', d->data.len) != NULL) {
			log_warnx("indexd: deployment secret %s is malformed",
			    s->name);
			return 1;
		}
		set_value(s, d->data.data, d->data.len);
		return 1;
	}
	return 0;
}

static void
secret_set(struct child *c, uint64_t id, const struct imsg_ctl_admin *a)
{
	if (a->data.data == NULL || a->data.len == 0 ||
	    a->data.len > SECRET_MAX_VALUE ||
	    memchr(a->data.data, '\0', a->data.len) != NULL) {
		answer(c, id, 0, "a secret's value is 1 to 4096 bytes");
		return;
	}
	if (pending_set.key_id != 0) {
		answer(c, id, 0, "another secret is being set; try again");
		return;
	}
	strlcpy(pending_set.name, a->arg, sizeof(pending_set.name));
	pending_set.ctl_id = id;
	pending_set.len = a->data.len;
	pending_set.value = xcalloc(1, a->data.len);
	memcpy(pending_set.value, a->data.data, a->data.len);
	if (keyd_req(c, IMSG_KEY_SEAL, a->arg, a->data.data, a->data.len,
	    &pending_set.key_id) == -1) {
		pending_clear();
		answer(c, id, 0, "keyd is not reachable");
	}
}

static void
secret_unset(struct child *c, PGconn *db, uint64_t id, const char *name)
{
	PGresult	*res;
	const char	*v[1] = { name };
	struct secret	*s;
	char		 m[128];

	res = PQexecParams(db, "DELETE FROM deploy_secrets WHERE name = $1",
	    1, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_warnx("indexd: cannot delete secret %s: %s", name,
		    PQerrorMessage(db));
		answer(c, id, 0, "the database failed");
	} else if (strcmp(PQcmdTuples(res), "0") == 0)
		answer(c, id, 0, "no such secret");
	else {
		if ((s = find(name, 0)) != NULL) {
			drop_value(s);
			s->used = 0;
		}
		log_info("indexd: deployment secret %s removed", name);
		snprintf(m, sizeof(m), "secret %s removed", name);
		answer(c, id, 1, m);
	}
	PQclear(res);
}

static void
secret_list(struct child *c, PGconn *db, uint64_t id)
{
	PGresult	*res;
	char		*out;
	size_t		 off = 0, cap;

	res = PQexec(db, "SELECT name, to_char(updated_at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM deploy_secrets ORDER BY "
	    "name");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		answer(c, id, 0, "the database failed");
		return;
	}
	cap = (size_t)PQntuples(res) * 128 + 1;
	out = xcalloc(1, cap);
	for (int i = 0; i < PQntuples(res); i++) {
		struct secret	*s = find(PQgetvalue(res, i, 0), 0);

		off += (size_t)snprintf(out + off, cap - off, "%s\tset %s%s\n",
		    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		    s != NULL && s->value != NULL ? "" : "\t(not opened)");
	}
	PQclear(res);
	answer(c, id, 1, out);
	free(out);
}

void
secret_admin(struct child *c, PGconn *db, uint64_t id,
    const struct imsg_ctl_admin *a)
{
	if (strcmp(a->op, "secret-list") == 0) {
		secret_list(c, db, id);
		return;
	}
	if (!name_ok(a->arg)) {
		answer(c, id, 0, "a secret name is 1 to 64 of a-z, 0-9 and "
		    "'-', starting with a letter");
		return;
	}
	if (strcmp(a->op, "secret-set") == 0)
		secret_set(c, id, a);
	else
		secret_unset(c, db, id, a->arg);
}
