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
 * one window).
 *
 * A key is looked for only in the RL_PROBE slots after the one its hash
 * names, so a check touches a page or two of the table, not all of it
 * (a linear scan read all 1.3 MB of a table per search and per login,
 * and kept it resident: issue 12).  The hash is SHA-256 under a random
 * per-process salt, so nobody can pick keys that crowd one neighbourhood.
 * When a neighbourhood is full its oldest window goes, so a flood of
 * fresh keys can only make the limiter forget, never refuse anyone else.
 */
#include <stdlib.h>
#include <string.h>

#include "authd/authd.h"
#include "authd/check.h"

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

#define RL_PROBE	8

static struct rl_table	 rl_login = { .limit = 5, .window = 60 };
static struct rl_table	 rl_search = { .limit = 600, .window = 60 };

static void
rl_setup(struct rl_table *t, uint64_t limit, uint64_t window)
{
	t->limit = limit > 0 ? limit : 1;
	t->window = window > 0 ? window : 1;
}

/* The first slot of key's neighbourhood. */
static size_t
rl_home(const char *key)
{
	static uint8_t	 salt[16];
	static int	 salted;
	uint8_t		 buf[sizeof(salt) + RL_KEYMAX], h[SHA256_LEN];
	size_t		 len = strnlen(key, RL_KEYMAX - 1);
	uint64_t	 v = 0;

	if (!salted) {
		arc4random_buf(salt, sizeof(salt));
		salted = 1;
	}
	memcpy(buf, salt, sizeof(salt));
	memcpy(buf + sizeof(salt), key, len);
	if (sha256(buf, sizeof(salt) + len, h) == -1)
		return 0;	/* still correct, only crowded */
	for (size_t i = 0; i < sizeof(v); i++)
		v = v << 8 | h[i];
	return (size_t)(v % RL_SLOTS);
}

static struct rl_slot *
rl_slot(struct rl_table *t, size_t home, size_t i)
{
	return &t->slot[(home + i) % RL_SLOTS];
}

static struct rl_slot *
rl_find(struct rl_table *t, const char *key)
{
	size_t	 home = rl_home(key);

	for (size_t i = 0; i < RL_PROBE; i++) {
		struct rl_slot	*s = rl_slot(t, home, i);

		if (s->key[0] != '\0' && strcmp(s->key, key) == 0)
			return s;
	}
	return NULL;
}

/* A free or expired slot near key's home, else the oldest window there. */
static struct rl_slot *
rl_take(struct rl_table *t, const char *key, uint64_t now)
{
	size_t		 home = rl_home(key);
	struct rl_slot	*old = rl_slot(t, home, 0);

	for (size_t i = 0; i < RL_PROBE; i++) {
		struct rl_slot	*s = rl_slot(t, home, i);

		if (s->key[0] == '\0' || now - s->start >= t->window)
			return s;
		if (s->start < old->start)
			old = s;
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
		s = rl_take(t, key, now);
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
