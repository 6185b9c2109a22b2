/*
 * Google API responses: the parsing the gmail and gdrive connectors and
 * the OAuth client (oauth.c) need, with no I/O so it can be fuzzed
 * (tests/fuzz/fuzz_gjson.c).  Every function takes a body of at most
 * GJSON_MAX_BODY bytes and refuses anything else; strings it gives back
 * are heap copies, valid UTF-8 without NUL.
 */
#ifndef BALLAST_FETCHER_GJSON_H
#define BALLAST_FETCHER_GJSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define GJSON_MAX_BODY		(32u * 1024 * 1024)
#define GJSON_MAX_TOKEN		4096	/* an access or refresh token */
#define GJSON_MAX_ID		512
#define GJSON_MAX_IDS		1000	/* ids in one page */

/* A token endpoint's success (RFC 6749, section 5.1). */
struct gtoken {
	char		*access_token;
	char		*refresh_token;		/* NULL when not sent */
	long long	 expires_in;		/* seconds; 3600 when not sent */
};

/* The parsed JSON object, or NULL (not JSON, not an object, too big). */
json_t	*gjson_load(const char *body, size_t len);

/* 0 and t filled, or -1 when body is not a usable token response. */
int	 gjson_token(const char *body, size_t len, struct gtoken *t);
void	 gjson_token_free(struct gtoken *);

/*
 * The error code of an error body: the token endpoint's
 * {"error":"invalid_grant",...} or the APIs' {"error":{"code":401,
 * "message":"...","status":"UNAUTHENTICATED"}} (the status).  Written
 * to code only when it is 1..63 of [A-Za-z0-9_.] (it goes into job
 * errors; the message never does); "" otherwise.
 */
void	 gjson_error(const char *body, size_t len, char *code, size_t codelen);

/* base64url (padded or not) decoded; NULL when malformed. */
uint8_t	*gjson_b64url(const char *in, size_t len, size_t *outlen);

/*
 * One page of a list: the ids of array `array`, member `member` of each
 * element (e.g. "messages" / "id"), and the nextPageToken.
 */
struct gpage {
	char		*ids[GJSON_MAX_IDS];
	size_t		 nids;
	char		*next;		/* nextPageToken, or NULL */
};
int	 gjson_page(json_t *o, const char *array, const char *member,
	    struct gpage *);
void	 gjson_page_free(struct gpage *);

/*
 * Gmail users.history.list: message ids that were added or relabelled
 * (changed) and deleted, for one page, plus historyId and
 * nextPageToken.
 */
struct ghistory {
	struct gpage	 changed;
	struct gpage	 deleted;
	char		*history_id;
};
int	 gjson_history(json_t *o, struct ghistory *);
void	 gjson_history_free(struct ghistory *);

/*
 * Drive changes.list: file ids changed and removed (removed or trashed)
 * in one page, nextPageToken and, on the last page, newStartPageToken.
 */
struct gchanges {
	struct gpage	 changed;
	struct gpage	 removed;
	char		*new_start;
};
int	 gjson_changes(json_t *o, struct gchanges *);
void	 gjson_changes_free(struct gchanges *);

/* A string member that is a usable id (1..512 bytes, no control). */
const char *gjson_id(json_t *o, const char *member);

#endif
