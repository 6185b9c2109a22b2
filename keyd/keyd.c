/*
 * keyd: the only process that holds the master keyring.  It seals and
 * opens secrets, derives per-user keys, signs JWTs and rewraps on key
 * rotation.  No network, no database, no file system after start-up.
 *
 * Peers: parent (config, health), front (seal only), authd (sign, public
 * key), indexd (open, seal, rewrap).  The IPC layer refuses any other
 * message on a channel (common/ipc_msg.c holds the table).
 */
#include <sys/mman.h>

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/child.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "keyd/keyd.h"
#include "keyd/keyring.h"

static struct {
	struct keyring	*keyring;
} keyd;

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

static void
keyd_load(struct child *c)
{
	char	 err[512];

	if (c->fd_keyring == -1)
		fatalx("keyd: the parent sent no keyring");
	if (keyring_load_fd(c->fd_keyring, c->conf.keyring, keyd_owner(c),
	    &keyd.keyring, err, sizeof(err)) == -1)
		fatalx("keyd: %s", err);
	close(c->fd_keyring);
	c->fd_keyring = -1;
	log_info("keyd: keyring %s: %zu key(s), newest id %u",
	    c->conf.keyring, keyd.keyring->nkeys,
	    keyring_newest(keyd.keyring)->id);
}

void
keyd_main(int argc, char **argv)
{
	static struct child	 c;

	child_boot(&c, PROC_KEYD, argc, argv);
	/* Before anything holds a key: no core file, no ptrace, no dump. */
	if (priv_nodump() == -1)
		fatal("keyd: cannot make the process undumpable");
	keyd_load(&c);
	if (priv_drop(c.conf.user[PROC_KEYD], c.conf.chroot_dir) == -1)
		fatalx("keyd: cannot drop privileges");
	/* setuid makes a process dumpable again on Linux: say no once more. */
	if (priv_nodump() == -1)
		fatal("keyd: cannot make the process undumpable");
	/* stdio: the event loop and IPC on the channels the parent gave us. */
	if (sandbox_pledge("stdio") == -1)
		fatal("keyd: sandbox");
	child_serve(&c);
}
