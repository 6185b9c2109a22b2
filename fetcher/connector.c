/*
 * The connector table and the config and credential helpers every
 * connector shares.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/sandbox.h"
#include "common/util.h"
#include "fetcher/connector.h"

static const struct connector *const connectors[] = {
	&conn_files, &conn_postgres, &conn_http, &conn_imap, &conn_gmail,
    &conn_gdrive,
};

const struct connector *
connector_find(const char *type)
{
	for (size_t i = 0; i < nitems(connectors); i++)
		if (strcmp(connectors[i]->type, type) == 0)
			return connectors[i];
	return NULL;
}

const char *
connector_types(void)
{
	return "files, postgres, http, imap, gmail, gdrive";
}

/* The credential parsed; NULL with err when absent or not JSON. */
static json_t *
cred_load(const struct fetch_job *job, char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*v;

	if (job->credential == NULL || job->credential_len == 0) {
		snprintf(err, errlen, "the source has no credentials");
		return NULL;
	}
	v = json_loadb(job->credential, job->credential_len,
	    JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	/* jerr may quote the text: never let it near a message */
	explicit_bzero(&jerr, sizeof(jerr));
	if (v == NULL)
		snprintf(err, errlen, "the credentials are not valid JSON");
	return v;
}

/* A heap copy of a JSON string's bytes; the JSON value is wiped. */
static char *
cred_copy(json_t *s)
{
	char	*out;
	size_t	 len = json_string_length(s);

	out = xcalloc(1, len + 1);
	memcpy(out, json_string_value(s), len);
	return out;
}

/*
 * jansson keeps no copy after json_decref, but its string buffer is
 * freed unwiped; overwrite it first.
 */
static void
cred_wipe(json_t *v)
{
	const char	*k;
	json_t		*m;

	if (json_is_string(v))
		explicit_bzero((char *)json_string_value(v),
		    json_string_length(v));
	else if (json_is_object(v))
		json_object_foreach(v, k, m)
			cred_wipe(m);
	json_decref(v);
}

char *
cred_string(const struct fetch_job *job, char *err, size_t errlen)
{
	json_t	*v;
	char	*out = NULL;

	if ((v = cred_load(job, err, errlen)) == NULL)
		return NULL;
	if (json_is_string(v) && json_string_length(v) > 0 &&
	    strlen(json_string_value(v)) == json_string_length(v))
		out = cred_copy(v);
	else
		snprintf(err, errlen, "the credentials must be a non-empty "
		    "string");
	cred_wipe(v);
	return out;
}

char *
cred_member(const struct fetch_job *job, const char *k, char *err,
    size_t errlen)
{
	json_t	*v, *m;
	char	*out = NULL;

	if ((v = cred_load(job, err, errlen)) == NULL)
		return NULL;
	m = json_is_object(v) ? json_object_get(v, k) : NULL;
	if (m != NULL && json_is_string(m) && json_string_length(m) > 0 &&
	    strlen(json_string_value(m)) == json_string_length(m))
		out = cred_copy(m);
	else
		snprintf(err, errlen, "the credentials must be an object "
		    "with a non-empty string \"%s\"", k);
	cred_wipe(v);
	return out;
}

int
conf_str(json_t *config, const char *k, int required, size_t maxlen,
    const char **out, char *err, size_t errlen)
{
	json_t	*v = json_object_get(config, k);

	*out = NULL;
	if (v == NULL) {
		if (!required)
			return 0;
		snprintf(err, errlen, "config.%s: required", k);
		return -1;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > maxlen ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(err, errlen, "config.%s: must be a string of 1 to "
		    "%zu bytes", k, maxlen);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

int
conf_path(json_t *config, const char *k, const char **out, char *err,
    size_t errlen)
{
	if (conf_str(config, k, 0, 4095, out, err, errlen) == -1)
		return -1;
	if (*out != NULL && (*out)[0] != '/') {
		snprintf(err, errlen, "config.%s: must be an absolute path", k);
		return -1;
	}
	return 0;
}

int
conf_int(json_t *config, const char *k, long long min, long long max,
    long long def, long long *out, char *err, size_t errlen)
{
	json_t	*v = json_object_get(config, k);

	*out = def;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		snprintf(err, errlen, "config.%s: must be an integer from "
		    "%lld to %lld", k, min, max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

int
conf_bool(json_t *config, const char *k, int def, int *out, char *err,
    size_t errlen)
{
	json_t	*v = json_object_get(config, k);

	*out = def;
	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "config.%s: must be true or false", k);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

int
conf_only(json_t *config, const char *const *known, char *err,
    size_t errlen)
{
	const char	*k;
	json_t		*v;

	if (!json_is_object(config)) {
		snprintf(err, errlen, "config: must be a JSON object");
		return -1;
	}
	json_object_foreach(config, k, v) {
		size_t	 i;

		for (i = 0; known[i] != NULL && strcmp(known[i], k) != 0; i++)
			;
		if (known[i] == NULL) {
			snprintf(err, errlen, "config.%.64s: unknown member",
			    k);
			return -1;
		}
	}
	return 0;
}

int
sandbox_add_path(struct fetch_sandbox *sb, const char *path, char *err,
    size_t errlen)
{
	if (sb->npaths == FETCH_SANDBOX_PATHS ||
	    strlcpy(sb->paths[sb->npaths], path, sizeof(sb->paths[0])) >=
	    sizeof(sb->paths[0])) {
		snprintf(err, errlen, "the sandbox has no room for %.64s", path);
		return -1;
	}
	sb->npaths++;
	return 0;
}

/* Those of the NULL-ended paths that exist. */
static int
sandbox_add_existing(struct fetch_sandbox *sb, const char *const *paths,
    char *err, size_t errlen)
{
	struct stat	 st;

	for (; *paths != NULL; paths++)
		if (stat(*paths, &st) == 0 &&
		    sandbox_add_path(sb, *paths, err, errlen) == -1)
			return -1;
	return 0;
}

int
sandbox_add_net(struct fetch_sandbox *sb, const char *ca_file, char *err,
    size_t errlen)
{
	strlcpy(sb->promises, "inet dns rpath thread", sizeof(sb->promises));
	sb->npaths = 0;
	if (ca_file != NULL && sandbox_add_path(sb, ca_file, err, errlen) == -1)
		return -1;
	/* without the resolver's files, only literal addresses resolve */
	if (sandbox_add_existing(sb, sandbox_resolver_files, err, errlen) == -1)
		return -1;
	return sandbox_add_existing(sb, sandbox_system_ca, err, errlen);
}
