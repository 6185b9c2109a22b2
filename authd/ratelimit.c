/*
 * Failed-login counting, in memory: per account and per client address,
 * at most `login attempts N per M` failures in a fixed window of M
 * seconds, then 429 with Retry-After until the window ends.  A restart
 * forgets (authd is restarted rarely; an attacker gains one window).
 * The table is small and scanned linearly: a login costs an Argon2id
 * verification anyway.  When it is full the oldest window goes.
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

static struct rl_slot	 rl[RL_SLOTS];
static uint64_t		 rl_attempts = 5, rl_window = 60;

void
ratelimit_setup(uint64_t attempts, uint64_t window)
{
	rl_attempts = attempts > 0 ? attempts : 1;
	rl_window = window > 0 ? window : 1;
}

static struct rl_slot *
rl_find(const char *key)
{
	for (size_t i = 0; i < RL_SLOTS; i++)
		if (rl[i].key[0] != '\0' && strcmp(rl[i].key, key) == 0)
			return &rl[i];
	return NULL;
}

/* A free or expired slot, else the one whose window began first. */
static struct rl_slot *
rl_take(uint64_t now)
{
	struct rl_slot	*old = &rl[0];

	for (size_t i = 0; i < RL_SLOTS; i++) {
		if (rl[i].key[0] == '\0' || now - rl[i].start >= rl_window)
			return &rl[i];
		if (rl[i].start < old->start)
			old = &rl[i];
	}
	return old;
}

uint64_t
ratelimit_check(const char *key, uint64_t now)
{
	struct rl_slot	*s;

	if ((s = rl_find(key)) == NULL || now - s->start >= rl_window ||
	    s->count < rl_attempts)
		return 0;
	return rl_window - (now - s->start);
}

void
ratelimit_fail(const char *key, uint64_t now)
{
	struct rl_slot	*s;

	if (strlen(key) >= RL_KEYMAX)
		return;
	if ((s = rl_find(key)) == NULL) {
		s = rl_take(now);
		strlcpy(s->key, key, sizeof(s->key));
		s->start = now;
		s->count = 0;
	} else if (now - s->start >= rl_window) {
		s->start = now;
		s->count = 0;
	}
	s->count++;
}

void
ratelimit_clear(const char *key)
{
	struct rl_slot	*s;

	if ((s = rl_find(key)) != NULL)
		memset(s, 0, sizeof(*s));
}
