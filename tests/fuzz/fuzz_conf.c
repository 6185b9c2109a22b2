/*
 * Fuzz the ballast.conf parser.  On error the struct must be untouched and
 * the message must name the file; on success the values must be in range
 * and the normalised text must parse back to the same bytes (the golden
 * property behind "ballastd -nv") and print the same text again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "common/log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_values(const struct ballast_conf *c)
{
	if (c->listen_port == 0 || c->max_connections < 1 ||
	    c->max_connections > 1000000 || c->max_header_size < 1024 ||
	    c->max_header_size > 1024 * 1024 || c->max_body_size < 1024 ||
	    c->max_body_size > 1024ULL * 1024 * 1024 ||
	    c->ipc_timeout < 1 || c->ipc_timeout > 3600 ||
	    c->log_level < LOG_LEVEL_WARN || c->log_level > LOG_LEVEL_DEBUG)
		abort();
	if (c->tls_cert[0] != '/' || c->tls_key[0] != '/' ||
	    c->keyring[0] != '/' || c->control_socket[0] != '/' ||
	    c->libexec_dir[0] != '/' || c->chroot_dir[0] != '/')
		abort();
	if (c->user[PROC_PARENT][0] != '\0' || c->user[PROC_CTL][0] != '\0')
		abort();
}

static void
check_roundtrip(const struct ballast_conf *c)
{
	static struct ballast_conf	 again;
	char				 err[512], *text, *text2;

	if ((text = conf_to_text(c)) == NULL)
		abort();
	if (conf_parse_text("printed", text, strlen(text), &again, err,
	    sizeof(err)) != 0)
		abort();
	if (memcmp(c, &again, sizeof(again)) != 0)
		abort();
	if ((text2 = conf_to_text(&again)) == NULL || strcmp(text, text2) != 0)
		abort();
	free(text);
	free(text2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ballast_conf	 c, before;
	char				 err[512];
	char				*copy;

	/* A private copy so that ASan sees any read past the end. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	memset(&c, 0xa5, sizeof(c));
	memcpy(&before, &c, sizeof(c));
	if (conf_parse_text("fuzz", copy, size, &c, err, sizeof(err)) == 0) {
		check_values(&c);
		check_roundtrip(&c);
	} else {
		if (memcmp(&c, &before, sizeof(c)) != 0)
			abort();
		if (strncmp(err, "fuzz:", 5) != 0 ||
		    memchr(err, '\0', sizeof(err)) == NULL)
			abort();
	}
	free(copy);
	return 0;
}
