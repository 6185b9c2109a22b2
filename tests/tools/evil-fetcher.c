/*
 * evil-fetcher: a hostile stand-in for the fetcher, for the system tests
 * (tests/system/test_sources.py installs it as "fetcher" in a test
 * suite's libexec directory).  It reads IMSG_FETCH_START like the real
 * fetcher, then misbehaves as the last path segment of config.url says:
 *
 *   evil-good      two good documents and DONE (checks the harness)
 *   evil-oversize  a frame header announcing 64 MiB
 *   evil-badutf8   a hand-made IMSG_FETCH_DOC whose text is not UTF-8
 *   evil-badtype   a message type the fetcher may not send (IMSG_CONF)
 *   evil-silent    one document, then nothing, forever
 *   evil-crash     one document, then abort()
 *   evil-garbage   one document, then random bytes
 *
 * Not built into the suite, never installed.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <msgpack.h>

#include "common/ipc.h"
#include "common/util.h"

#define FD	PROC_PARENT_FD

static void
writeall(const void *p, size_t n)
{
	const uint8_t	*b = p;

	while (n > 0) {
		ssize_t w = write(FD, b, n);

		if (w <= 0)
			exit(1);
		b += w;
		n -= (size_t)w;
	}
}

static void
frame(const void *p, size_t n)
{
	uint8_t	 hdr[4];

	put_be32(hdr, (uint32_t)n);
	writeall(hdr, 4);
	writeall(p, n);
}

static void
doc(const char *id, const char *text)
{
	struct imsg_fetch_doc	 d;

	memset(&d, 0, sizeof(d));
	d.external_id = (char *)id;
	d.title = (char *)id;
	d.url = (char *)"";
	d.text = (char *)text;
	d.metadata = (char *)"{}";
	d.updated_at = (char *)"";
	if (ipc_send_blocking(FD, PROC_FETCHER, PROC_INDEXD, IMSG_FETCH_DOC, 0,
	    &d, -1) == -1)
		exit(1);
}

static void
packstr(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

/* IMSG_FETCH_DOC by hand, so the encoder's own checks cannot stop it. */
static void
bad_utf8_doc(void)
{
	static const char *const keys[] = {
		"external_id", "title", "url", "text", "metadata", "updated_at"
	};
	const char	*vals[] = { "bad", "bad", "", "caf\xc3\x28 \xff", "{}", "" };
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint64(&pk, IMSG_FETCH_DOC);
	msgpack_pack_uint64(&pk, 0);
	msgpack_pack_map(&pk, 6);
	for (size_t i = 0; i < 6; i++) {
		packstr(&pk, keys[i], strlen(keys[i]));
		packstr(&pk, vals[i], strlen(vals[i]));
	}
	frame(sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

static void
done(void)
{
	struct imsg_fetch_done	 d = { (char *)"c1", 1 };

	if (ipc_send_blocking(FD, PROC_FETCHER, PROC_INDEXD, IMSG_FETCH_DONE,
	    0, &d, -1) == -1)
		exit(1);
}

int
main(int argc, char *argv[])
{
	struct ipc_msg			 msg;
	struct imsg_fetch_start		*st;
	json_t				*cfg;
	const char			*url, *mode;
	uint8_t				 junk[4096];

	signal(SIGPIPE, SIG_IGN);
	memset(&msg, 0, sizeof(msg));
	msg.fd = -1;
	if (ipc_recv_blocking(FD, PROC_FETCHER, PROC_INDEXD, &msg) == -1 ||
	    msg.type != IMSG_FETCH_START)
		return 1;
	st = msg.body;
	cfg = json_loads(st->config, 0, NULL);
	url = cfg ? json_string_value(json_object_get(cfg, "url")) : NULL;
	mode = url && strrchr(url, '/') ? strrchr(url, '/') + 1 : "";
	if (strcmp(mode, "evil-good") == 0) {
		doc("good-1", "the first good document about zebrafish");
		doc("good-2", "the second good document about axolotls");
		done();
	} else if (strcmp(mode, "evil-oversize") == 0) {
		uint8_t	 hdr[4];

		put_be32(hdr, 64u * 1024 * 1024);
		writeall(hdr, 4);
		pause();
	} else if (strcmp(mode, "evil-badutf8") == 0) {
		bad_utf8_doc();
		pause();
	} else if (strcmp(mode, "evil-badtype") == 0) {
		struct imsg_conf	 c = { (char *)"x" };
		uint8_t			*buf;
		size_t			 len;

		if (ipc_encode(IMSG_CONF, 0, &c, &buf, &len) == 0)
			frame(buf, len);
		pause();
	} else if (strcmp(mode, "evil-silent") == 0) {
		doc("silent-1", "a document before the silence");
		for (;;)
			pause();
	} else if (strcmp(mode, "evil-crash") == 0) {
		doc("crash-1", "a document before the crash");
		abort();
	} else if (strcmp(mode, "evil-garbage") == 0) {
		doc("garbage-1", "a document before the garbage");
		arc4random_buf(junk, sizeof(junk));
		writeall(junk, sizeof(junk));
		pause();
	}
	return 0;
}
