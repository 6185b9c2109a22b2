/*
 * Rate limits, in memory, in fixed windows:
 *
 *   login    failed logins per account and per client address, at most
 *            `login attempts N per M` in a window of M seconds
 *   search   searches per principal (a session's user or an API key),
 *            at most `search rate N per M`
 *
 * Over the limit the caller gets 429 with Retry-After until its window
 * ends.  A restart forgets (authd is restarted rarely; an attacker gains
 * one window).  Each table is small and scanned linearly: a login costs
 * an Argon2id verification anyway, and a search a query in PostgreSQL
 * that costs far more than a few thousand string compares.  When a table
 * is full the oldest window goes, so a flood of fresh keys can only make
 * the limiter forget, never refuse anyone else.
 */
#include <string.h>

#include "authd/authd.h"

#define RL_SLOTS	4096
#define RL_KEYMAX	300

struct rl_slot {
	char		 key[RL_KEYMAX];
	uint64_t	 start;		/* window start, seconds */
	uint64_t	 count;
};

struct rl_table {
	struct rl_slot	 slot[RL_SLOTS];
	uint64_t	 limit;		/* events allowed per window */
	uint64_t	 window;	/* seconds */
};

static struct rl_table	 rl_login = { .limit = 5, .window = 60 };
static struct rl_table	 rl_search = { .limit = 600, .window = 60 };

static void
rl_setup(struct rl_table *t, uint64_t limit, uint64_t window)
{
	t->limit = limit > 0 ? limit : 1;
	t->window = window > 0 ? window : 1;
}

static struct rl_slot *
rl_find(struct rl_table *t, const char *key)
{
	for (size_t i = 0; i < RL_SLOTS; i++)
		if (t->slot[i].key[0] != '\0' &&
		    strcmp(t->slot[i].key, key) == 0)
			return &t->slot[i];
	return NULL;
}

/* A free or expired slot, else the one whose window began first. */
static struct rl_slot *
rl_take(struct rl_table *t, uint64_t now)
{
	struct rl_slot	*old = &t->slot[0];

	for (size_t i = 0; i < RL_SLOTS; i++) {
		if (t->slot[i].key[0] == '\0' ||
		    now - t->slot[i].start >= t->window)
			return &t->slot[i];
		if (t->slot[i].start < old->start)
			old = &t->slot[i];
	}
	return old;
}

/* Seconds left in key's window when it is at the limit, else 0. */
static uint64_t
rl_check(struct rl_table *t, const char *key, uint64_t now)
{
	struct rl_slot	*s;

	if ((s = rl_find(t, key)) == NULL || now - s->start >= t->window ||
	    s->count < t->limit)
		return 0;
	return t->window - (now - s->start);
}

static void
rl_count(struct rl_table *t, const char *key, uint64_t now)
{
	struct rl_slot	*s;

	if (strlen(key) >= RL_KEYMAX)
		return;
	if ((s = rl_find(t, key)) == NULL) {
		s = rl_take(t, now);
		strlcpy(s->key, key, sizeof(s->key));
		s->start = now;
		s->count = 0;
	} else if (now - s->start >= t->window) {
		s->start = now;
		s->count = 0;
	}
	s->count++;
}

void
ratelimit_setup(uint64_t attempts, uint64_t window)
{
	rl_setup(&rl_login, attempts, window);
}

uint64_t
ratelimit_check(const char *key, uint64_t now)
{
	return rl_check(&rl_login, key, now);
}

void
ratelimit_fail(const char *key, uint64_t now)
{
	rl_count(&rl_login, key, now);
}

void
ratelimit_clear(const char *key)
{
	struct rl_slot	*s;

	if ((s = rl_find(&rl_login, key)) != NULL)
		memset(s, 0, sizeof(*s));
}

void
ratelimit_search_setup(uint64_t searches, uint64_t window)
{
	rl_setup(&rl_search, searches, window);
}

/*
 * One search by principal: 0 when allowed (and counted), else the
 * seconds to wait.  A refused search is not counted, so a caller that
 * waits for Retry-After gets a whole window.
 */
uint64_t
ratelimit_search(const char *principal, uint64_t now)
{
	uint64_t	 wait;

	if ((wait = rl_check(&rl_search, principal, now)) > 0)
		return wait;
	rl_count(&rl_search, principal, now);
	return 0;
}
