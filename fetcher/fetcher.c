/*
 * The fetcher process (see fetcher.h): one sync run, then exit.
 *
 *   start     as the fetcher user, fd 3 = the channel to indexd, nothing
 *             else; refuse root.
 *   job       one IMSG_FETCH_START (30 s at most); find the connector,
 *             check the config again (never trust the sender blindly).
 *   sandbox   unveil the connector's paths read-only, pledge "stdio"
 *             plus its promises.
 *   run       the connector hands documents to the sink, which checks
 *             them and sends IMSG_FETCH_DOC / IMSG_FETCH_KEEP; the end
 *             is IMSG_FETCH_DONE or IMSG_FETCH_ERROR.
 *
 * Exit 0 once the end was sent, 1 when it could not be (indexd gone).
 */
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/ipc.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "common/util.h"
#include "fetcher/connector.h"
#include "fetcher/fetcher.h"
#include "fetcher/oauth.h"

#define FETCH_START_TIMEOUT_MS	30000
#define FETCH_MAX_ID		512
#define FETCH_MAX_TITLE		1024
#define FETCH_MAX_URL		2048
#define FETCH_MAX_META		(64 * 1024)

struct fsink {
	int		 fd;
	char		*keep[FETCH_MAX_KEEP];
	size_t		 nkeep;
	size_t		 ndocs, nkept;
};

static __attribute__((noreturn)) void
fetcher_usage(void)
{
	log_warnx("usage: fetcher [-dv]");
	exit(2);
}

/* A message to indexd; a failed send ends the process (no one listens). */
static void
fetcher_send(int fd, enum ipc_type type, const void *body)
{
	if (ipc_send_blocking(fd, PROC_FETCHER, PROC_INDEXD, type, 0, body,
	    -1) == -1) {
		log_warn("%s: %s to indexd", __func__, ipc_type_name(type));
		exit(1);
	}
}

static int
str_ok(const char *s, size_t max)
{
	size_t	 n;

	if (s == NULL)
		return 1;
	n = strnlen(s, max + 1);
	return n <= max && utf8_valid(s, n);
}

static int
meta_ok(const char *m)
{
	json_t	*v;
	int	 ok;

	if (m == NULL)
		return 1;
	if (!str_ok(m, FETCH_MAX_META))
		return 0;
	v = json_loads(m, JSON_REJECT_DUPLICATES, NULL);
	ok = json_is_object(v);
	json_decref(v);
	return ok;
}

/* Why a document cannot go to indexd, or NULL when it can. */
static const char *
doc_problem(const struct fetch_doc *d)
{
	size_t	 n;

	if (d->external_id == NULL || (n = strnlen(d->external_id,
	    FETCH_MAX_ID + 1)) == 0 || n > FETCH_MAX_ID ||
	    !utf8_valid(d->external_id, n))
		return "external_id must be UTF-8 of 1 to 512 bytes";
	if (!str_ok(d->title, FETCH_MAX_TITLE))
		return "title must be UTF-8 of at most 1024 bytes";
	if (!str_ok(d->url, FETCH_MAX_URL))
		return "url must be UTF-8 of at most 2048 bytes";
	if (d->text == NULL || d->text_len > FETCH_MAX_BODY ||
	    !utf8_valid(d->text, d->text_len))
		return "text must be UTF-8 without NUL of at most 4 MiB";
	if (!meta_ok(d->metadata))
		return "metadata must be a JSON object of at most 64 KiB";
	if (d->updated_at != NULL && d->updated_at[0] != '\0' &&
	    (strnlen(d->updated_at, 65) > 64 ||
	    !rfc3339_valid(d->updated_at)))
		return "updated_at must be RFC 3339";
	return NULL;
}

static void
keep_flush(struct fsink *fs)
{
	struct imsg_fetch_keep	 k;

	if (fs->nkeep == 0)
		return;
	k.ids.v = fs->keep;
	k.ids.n = fs->nkeep;
	fetcher_send(fs->fd, IMSG_FETCH_KEEP, &k);
	for (size_t i = 0; i < fs->nkeep; i++)
		free(fs->keep[i]);
	fs->nkeep = 0;
}

static int
sink_doc(struct fetch_sink *sk, const struct fetch_doc *d)
{
	struct fsink		*fs = sk->arg;
	struct imsg_fetch_doc	 m;
	const char		*why;
	char			*text;

	if ((why = doc_problem(d)) != NULL) {
		/* the id only when it is one: it goes into a log line */
		if (str_ok(d->external_id, 64))
			snprintf(sk->sink_error, sizeof(sk->sink_error),
			    "document \"%s\": %s", d->external_id, why);
		else
			snprintf(sk->sink_error, sizeof(sk->sink_error),
			    "a document: %s", why);
		return -1;
	}
	/* the encoder wants a C string; text_len need not end in NUL */
	text = xcalloc(1, d->text_len + 1);
	memcpy(text, d->text, d->text_len);
	m.external_id = (char *)d->external_id;
	m.title = (char *)(d->title ? d->title : "");
	m.url = (char *)(d->url ? d->url : "");
	m.text = text;
	m.metadata = (char *)(d->metadata ? d->metadata : "{}");
	m.updated_at = (char *)(d->updated_at ? d->updated_at : "");
	fetcher_send(fs->fd, IMSG_FETCH_DOC, &m);
	free(text);
	fs->ndocs++;
	return 0;
}

static int
sink_keep(struct fetch_sink *sk, const char *id)
{
	struct fsink	*fs = sk->arg;
	size_t		 n;

	if (id == NULL || (n = strnlen(id, FETCH_MAX_ID + 1)) == 0 ||
	    n > FETCH_MAX_ID || !utf8_valid(id, n)) {
		snprintf(sk->sink_error, sizeof(sk->sink_error),
		    "a kept document: external_id must be UTF-8 of 1 to 512 "
		    "bytes");
		return -1;
	}
	fs->keep[fs->nkeep++] = xstrdup(id);
	fs->nkept++;
	if (fs->nkeep == FETCH_MAX_KEEP)
		keep_flush(fs);
	return 0;
}

/* New OAuth tokens: the whole credential, for indexd to seal. */
static int
sink_tokens(struct fetch_sink *sk, const char *cred, size_t len)
{
	struct fsink			*fs = sk->arg;
	struct imsg_fetch_tokens	 t;

	if (len < 2 || len > FETCH_MAX_CREDENTIAL)
		return -1;
	t.credential.data = (uint8_t *)cred;
	t.credential.len = len;
	fetcher_send(fs->fd, IMSG_FETCH_TOKENS, &t);
	log_info("%s: new tokens sent to indexd", __func__);
	return 0;
}

/* Wait for and read the one IMSG_FETCH_START. */
static void
fetcher_recv_start(struct ipc_msg *msg)
{
	struct pollfd	 pfd;
	int		 n;

	pfd.fd = PROC_PARENT_FD;
	pfd.events = POLLIN;
	while ((n = poll(&pfd, 1, FETCH_START_TIMEOUT_MS)) == -1 &&
	    errno == EINTR)
		;
	if (n == -1)
		fatal("%s: poll", __func__);
	if (n == 0)
		fatalx("%s: no job from indexd within %d s", __func__,
		    FETCH_START_TIMEOUT_MS / 1000);
	memset(msg, 0, sizeof(*msg));
	msg->fd = -1;
	if (ipc_recv_blocking(PROC_PARENT_FD, PROC_FETCHER, PROC_INDEXD,
	    msg) == -1)
		fatal("%s: reading the job from indexd", __func__);
	if (msg->type != IMSG_FETCH_START)
		fatalx("%s: %s from indexd instead of IMSG_FETCH_START",
		    __func__, ipc_type_name(msg->type));
}

/* End the run with an error indexd can show; does not return. */
static __attribute__((noreturn)) void
fetcher_error_reauth(const char *message, int transient, int reauth)
{
	struct imsg_fetch_error	 e;
	char			 buf[1024];

	/* a connector's message must still be a valid message field */
	if (strlcpy(buf, message, sizeof(buf)) >= sizeof(buf) ||
	    !utf8_valid(buf, strlen(buf)))
		strlcpy(buf, "the connector failed (its message was not "
		    "usable)", sizeof(buf));
	log_warnx("%s: %s", __func__, buf);
	e.message = buf;
	e.transient = transient;
	e.reauth = reauth ? 1 : 0;
	fetcher_send(PROC_PARENT_FD, IMSG_FETCH_ERROR, &e);
	exit(0);
}

static __attribute__((noreturn)) void
fetcher_error(const char *message, int transient)
{
	fetcher_error_reauth(message, transient, 0);
}

/* Close the sandbox around what the connector says it needs. */
static void
fetcher_sandbox(const struct connector *c, json_t *config)
{
	struct fetch_sandbox	 sb;
	char			 err[FETCH_ERR_MAX], promises[80];

	memset(&sb, 0, sizeof(sb));
	if (c->sandbox != NULL && c->sandbox(config, &sb, err,
	    sizeof(err)) == -1)
		fetcher_error(err, 0);
	for (size_t i = 0; i < sb.npaths && i < FETCH_SANDBOX_PATHS; i++)
		if (sandbox_unveil(sb.paths[i], "r") == -1) {
			snprintf(err, sizeof(err), "cannot unveil %.256s",
			    sb.paths[i]);
			fetcher_error(err, 0);
		}
	/* stdio: the channel to indexd (sendmsg/recvmsg), malloc */
	if ((size_t)snprintf(promises, sizeof(promises), "stdio %s",
	    sb.promises) >= sizeof(promises) ||
	    sandbox_pledge(promises) == -1)
		fatal("%s: sandbox_pledge \"%s\"", __func__, promises);
	log_debug("%s: %s, promises \"%s\", %zu paths", __func__,
	    sandbox_describe(), promises, sb.npaths);
}

/* Run the connector; the credential is wiped as soon as it is done. */
static int
fetcher_run(const struct connector *c, struct imsg_fetch_start *st,
    json_t *config, struct fetch_sink *sink, struct fetch_result *res)
{
	struct fetch_job	 job;
	int			 rc;

	memset(&job, 0, sizeof(job));
	job.type = st->type;
	job.config = config;
	if (st->credential.data != NULL && st->credential.len > 0) {
		job.credential = (const char *)st->credential.data;
		job.credential_len = st->credential.len;
	}
	job.cursor = st->cursor;
	memset(res, 0, sizeof(*res));
	rc = c->run(&job, sink, res);
	if (st->credential.data != NULL)
		explicit_bzero(st->credential.data, st->credential.len);
	return rc;
}

/*
 * An OAuth code exchange instead of a sync (the callback of
 * POST /v1/sources/{id}/oauth/start): the tokens go to indexd with
 * IMSG_FETCH_TOKENS; the cursor is reset ("") since the account may be
 * another one.
 */
static int
fetcher_exchange(struct imsg_fetch_start *st, json_t *config,
    struct fetch_sink *sink, struct fetch_result *res)
{
	struct fetch_job	 job;
	struct gconf		 c;
	json_t			*o;
	const char		*code, *verifier;
	int			 rc;

	memset(res, 0, sizeof(*res));
	memset(&job, 0, sizeof(job));
	job.type = st->type;
	job.config = config;
	job.credential = (const char *)st->credential.data;
	job.credential_len = st->credential.len;
	job.cursor = "";
	o = json_loadb((const char *)st->oauth.data, st->oauth.len,
	    JSON_REJECT_DUPLICATES, NULL);
	code = json_string_value(json_object_get(o, "code"));
	verifier = json_string_value(json_object_get(o, "verifier"));
	rc = -1;
	if (code == NULL || verifier == NULL)
		strlcpy(res->error, "the authorization request is malformed",
		    sizeof(res->error));
	else if (gconf_load(config, st->type, (const char *const []){
	    "query", "max_messages", "max_files", NULL }, "https://invalid",
	    "", &c, res->error, sizeof(res->error)) == -1)
		;
	else
		rc = goauth_exchange(&c, &job, code, verifier, sink, res);
	if (o != NULL) {
		if (code != NULL)
			explicit_bzero((char *)code, strlen(code));
		if (verifier != NULL)
			explicit_bzero((char *)verifier, strlen(verifier));
		json_decref(o);
	}
	explicit_bzero(st->oauth.data, st->oauth.len);
	if (st->credential.data != NULL)
		explicit_bzero(st->credential.data, st->credential.len);
	res->cursor[0] = '\0';
	res->complete = 0;
	res->reauth = 0;	/* a refused code says nothing of the grant */
	return rc;
}

/* The end of a run: DONE, or ERROR with the connector's message. */
static void
fetcher_end(struct fsink *fs, struct fetch_sink *sink,
    struct fetch_result *res, int rc)
{
	struct imsg_fetch_done	 d;
	size_t			 n;

	keep_flush(fs);
	log_info("%s: %zu documents, %zu kept", __func__, fs->ndocs,
	    fs->nkept);
	if (rc == -1)
		fetcher_error_reauth(res->error[0] ? res->error :
		    sink->sink_error[0] ? sink->sink_error :
		    "the connector failed", res->transient, res->reauth);
	n = strnlen(res->cursor, sizeof(res->cursor));
	if (n == sizeof(res->cursor) || !utf8_valid(res->cursor, n))
		fetcher_error("the connector returned a bad cursor", 0);
	d.cursor = res->cursor;
	d.complete = res->complete ? 1 : 0;
	fetcher_send(fs->fd, IMSG_FETCH_DONE, &d);
}

void
fetcher_main(int argc, char **argv)
{
	const struct connector	*c;
	struct ipc_msg		 msg;
	struct imsg_fetch_start	*st;
	struct fetch_sink	 sink;
	struct fetch_result	 res;
	static struct fsink	 fs;
	json_t			*config;
	char			 err[FETCH_ERR_MAX];
	int			 ch, foreground = 0, verbose = 0, rc;

	optind = 1;
	while ((ch = getopt(argc, argv, "dv")) != -1) {
		switch (ch) {
		case 'd':
			foreground = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			fetcher_usage();
		}
	}
	log_init(foreground, LOG_LEVEL_INFO + verbose, proc_name(PROC_FETCHER));
	/* a closed channel must be an error from write, not a signal */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (getuid() == 0 || geteuid() == 0)
		fatalx("%s: refusing to run as root: the parent starts the "
		    "fetcher under its own user", __func__);
	if (fd_cloexec(PROC_PARENT_FD, 1) == -1)
		fatal("%s: fd %d is not the channel to indexd", __func__,
		    PROC_PARENT_FD);

	fetcher_recv_start(&msg);
	st = msg.body;
	log_info("%s: job %s, type %s", __func__, st->job, st->type);
	if ((c = connector_find(st->type)) == NULL) {
		snprintf(err, sizeof(err), "no connector of type \"%.32s\" "
		    "(known: %s)", st->type, connector_types());
		fetcher_error(err, 0);
	}
	if ((config = json_loads(st->config, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL)
		fetcher_error("config: not valid JSON", 0);
	if (c->check(config, err, sizeof(err)) == -1)
		fetcher_error(err, 0);
	fetcher_sandbox(c, config);

	fs.fd = PROC_PARENT_FD;
	memset(&sink, 0, sizeof(sink));
	sink.doc = sink_doc;
	sink.keep = sink_keep;
	sink.tokens = sink_tokens;
	sink.arg = &fs;
	if (st->oauth.data != NULL) {
		if (strcmp(st->type, "gmail") != 0 &&
		    strcmp(st->type, "gdrive") != 0)
			fetcher_error("this source type has no OAuth", 0);
		rc = fetcher_exchange(st, config, &sink, &res);
	} else
		rc = fetcher_run(c, st, config, &sink, &res);
	fetcher_end(&fs, &sink, &res, rc);
	json_decref(config);
	ipc_msg_clear(&msg);
	exit(0);
}
