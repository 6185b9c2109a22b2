/*
 * keyd: the only process that holds the master keyring.  It seals and
 * opens secrets, derives per-user keys, signs JWTs and rewraps on key
 * rotation.  No network, no database, no file system after start-up.
 *
 * Peers and what each may ask (enforced by the IPC layer from the
 * catalogue in common/ipc_msg.c before a message gets here; anything else
 * is a protocol violation that drops the channel):
 *   parent   config, reload, a new keyring fd, the key list
 *   front    seal
 *   authd    sign a token, the public key
 *   indexd   seal, open, rewrap
 */
#include <sys/mman.h>

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/child.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "keyd/crypto.h"
#include "keyd/keyd.h"
#include "keyd/keyring.h"

static struct {
	struct keyring	*keyring;
	uid_t		 owner;		/* who may own the keyring file */
	uint64_t	 seals, opens, signs, errors;
} keyd;

static void
keyd_error(struct ipc_chan *chan, uint64_t id, const char *code,
    const char *message)
{
	struct imsg_key_error	 e = { (char *)code, (char *)message };

	keyd.errors++;
	(void)ipc_send(chan, IMSG_KEY_ERROR, id, &e, -1);
}

/* A personal context needs both the user and the salt, or neither. */
static int
keyd_ctx(const struct imsg_key_req *r, struct seal_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->org = r->org;
	ctx->source = r->source;
	ctx->user = r->user;
	if ((r->user == NULL) != (r->user_salt.data == NULL))
		return -1;
	ctx->user_salt = r->user_salt.data;
	ctx->user_salt_len = r->user_salt.len;
	return 0;
}

static const char *
keyd_seal_code(int rv)
{
	switch (rv) {
	case SEAL_EBADMSG:
		return "bad_message";
	case SEAL_EINVAL:
		return "invalid";
	default:
		return "internal";
	}
}

static void
keyd_reply_data(struct ipc_chan *chan, uint64_t id, uint8_t *data,
    size_t len)
{
	struct imsg_key_data	 d;

	d.data.data = data;
	d.data.len = len;
	if (ipc_send(chan, IMSG_KEY_RESULT, id, &d, -1) == -1)
		log_warnx("%s: cannot answer", __func__);
	freezero(data, len);
}

/* seal, open or rewrap: one shape, three operations. */
static void
keyd_crypt(struct ipc_chan *chan, struct ipc_msg *msg)
{
	struct imsg_key_req	*r = msg->body;
	struct seal_ctx		 ctx;
	uint8_t			*out = NULL;
	size_t			 outlen = 0;
	int			 rv;

	if (keyd_ctx(r, &ctx) == -1) {
		keyd_error(chan, msg->id, "invalid",
		    "a personal secret needs both user and user_salt");
		return;
	}
	switch (msg->type) {
	case IMSG_KEY_SEAL:
		rv = seal(keyd.keyring, &ctx, r->data.data, r->data.len, &out,
		    &outlen);
		keyd.seals++;
		break;
	case IMSG_KEY_OPEN:
		rv = seal_open(keyd.keyring, &ctx, r->data.data, r->data.len,
		    &out, &outlen);
		keyd.opens++;
		break;
	default:
		rv = seal_rewrap(keyd.keyring, &ctx, r->data.data,
		    r->data.len, &out, &outlen);
		break;
	}
	if (rv != SEAL_OK) {
		keyd_error(chan, msg->id, keyd_seal_code(rv),
		    rv == SEAL_EBADMSG ? "the secret cannot be opened in this "
		    "context" : rv == SEAL_EINVAL ? "invalid context or size" :
		    "internal error");
		return;
	}
	keyd_reply_data(chan, msg->id, out, outlen);
}

/* keyd checks what it signs: only claims authd may ask for. */
static void
keyd_sign(struct ipc_chan *chan, struct ipc_msg *msg)
{
	const struct imsg_key_sign	*s = msg->body;
	struct imsg_key_token		 t;
	char				 err[256];
	char				*token = NULL;

	if (jwt_claims_check(s->claims, strlen(s->claims), (int64_t)time(NULL),
	    err, sizeof(err)) == -1) {
		log_warnx("%s: refused to sign: %s", __func__, err);
		keyd_error(chan, msg->id, "refused", err);
		return;
	}
	if (jwt_sign_eddsa(keyd.keyring->sign_seed, keyd.keyring->sign_id,
	    s->claims, strlen(s->claims), &token) == -1) {
		keyd_error(chan, msg->id, "internal", "signing failed");
		return;
	}
	keyd.signs++;
	t.token = token;
	(void)ipc_send(chan, IMSG_KEY_SIGNED, msg->id, &t, -1);
	freezero(token, strlen(token));
}

static void
keyd_pubkey(struct ipc_chan *chan, struct ipc_msg *msg)
{
	struct imsg_key_pubkey	 p;
	uint8_t			 pub[ED25519_PUBLEN];

	if (ed25519_public_key(keyd.keyring->sign_seed, pub) == -1) {
		keyd_error(chan, msg->id, "internal", "no public key");
		return;
	}
	p.kid = keyd.keyring->sign_id;
	p.pub.data = pub;
	p.pub.len = sizeof(pub);
	(void)ipc_send(chan, IMSG_KEY_PUBKEY_REP, msg->id, &p, -1);
}

/* Ids and ages only: never a key. */
static void
keyd_list(struct ipc_chan *chan, struct ipc_msg *msg)
{
	const struct keyring	*kr = keyd.keyring;
	struct imsg_key_info	 info;

	for (size_t i = 0; i < kr->nkeys; i++) {
		memset(&info, 0, sizeof(info));
		info.id = kr->keys[i].id;
		info.created = kr->keys[i].created;
		info.newest = i + 1 == kr->nkeys;
		info.last = i + 1 == kr->nkeys;
		(void)ipc_send(chan, IMSG_KEY_INFO, msg->id, &info, -1);
	}
}

static void
keyd_dispatch(struct child *c, struct ipc_chan *chan, struct ipc_msg *msg)
{
	switch (msg->type) {
	case IMSG_KEY_SEAL:
	case IMSG_KEY_OPEN:
	case IMSG_KEY_REWRAP:
		keyd_crypt(chan, msg);
		break;
	case IMSG_KEY_SIGN:
		keyd_sign(chan, msg);
		break;
	case IMSG_KEY_PUBKEY:
		keyd_pubkey(chan, msg);
		break;
	case IMSG_KEY_LIST:
		keyd_list(chan, msg);
		break;
	default:
		/* The catalogue let it through, so it is a reply to no one. */
		log_warnx("%s: %s from %s ignored", __func__,
		    ipc_type_name(msg->type), proc_name(ipc_chan_peer(chan)));
		break;
	}
}

/*
 * After `ballastctl key rotate` or a reload the parent sends the keyring
 * file again; a bad one keeps the keys we have.
 */
static void
keyd_fd_received(struct child *c, const char *what, int fd)
{
	struct keyring	*kr;
	char		 err[512];

	if (strcmp(what, "keyring") != 0) {
		log_warnx("%s: unexpected resource '%s'", __func__, what);
		close(fd);
		return;
	}
	if (keyring_load_fd(fd, c->conf.keyring, keyd.owner, &kr, err,
	    sizeof(err)) == -1) {
		log_warnx("keyd: keeping the current keyring: %s", err);
		close(fd);
		return;
	}
	close(fd);
	keyring_free(keyd.keyring);
	keyd.keyring = kr;
	log_info("keyd: keyring reloaded: %zu key(s), newest id %u",
	    kr->nkeys, keyring_newest(kr)->id);
}

void
keyd_attach(struct child *c, struct keyring *kr)
{
	keyd.keyring = kr;
	c->dispatch[PROC_PARENT] = keyd_dispatch;
	c->dispatch[PROC_FRONT] = keyd_dispatch;
	c->dispatch[PROC_AUTHD] = keyd_dispatch;
	c->dispatch[PROC_INDEXD] = keyd_dispatch;
	c->fd_received = keyd_fd_received;
}

/* The keyring may belong to root or to keyd's own user. */
static uid_t
keyd_owner(const struct child *c)
{
	struct passwd	*pw;

	if (geteuid() != 0)
		return geteuid();
	if ((pw = getpwnam(c->conf.user[PROC_KEYD])) == NULL)
		fatalx("keyd: user %s does not exist", c->conf.user[PROC_KEYD]);
	return pw->pw_uid;
}

static struct keyring *
keyd_load(struct child *c)
{
	struct keyring	*kr;
	char		 err[512];

	if (c->fd_keyring == -1)
		fatalx("keyd: the parent sent no keyring");
	if (keyring_load_fd(c->fd_keyring, c->conf.keyring, keyd.owner, &kr,
	    err, sizeof(err)) == -1)
		fatalx("keyd: %s", err);
	close(c->fd_keyring);
	c->fd_keyring = -1;
	log_info("keyd: keyring %s: %zu key(s), newest id %u",
	    c->conf.keyring, kr->nkeys, keyring_newest(kr)->id);
	return kr;
}

void
keyd_main(int argc, char **argv)
{
	static struct child	 c;

	child_boot(&c, PROC_KEYD, argc, argv);
	/* Before anything holds a key: no core file, no ptrace, no dump. */
	if (priv_nodump() == -1)
		fatal("keyd: cannot make the process undumpable");
	keyd.owner = keyd_owner(&c);
	keyd_attach(&c, keyd_load(&c));
	if (priv_drop(c.conf.user[PROC_KEYD], c.conf.chroot_dir) == -1)
		fatalx("keyd: cannot drop privileges");
	/* setuid makes a process dumpable again on Linux: say no once more. */
	if (priv_nodump() == -1)
		fatal("keyd: cannot make the process undumpable");
	/*
	 * stdio: the event loop, and IPC on the channels the parent gave us
	 * (sendmsg/recvmsg); recvfd: channels and keyring reloads arrive as
	 * passed fds.  No file system, no network.
	 */
	if (sandbox_pledge("stdio recvfd") == -1)
		fatal("keyd: sandbox");
	child_serve(&c);
}
