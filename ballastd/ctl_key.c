/*
 * ballastctl key init|rotate|retire|status: the keyring file.  ballastctl
 * runs as root on the host and edits the file; the running keyd reads it
 * again when the parent hands it over on reload.  keyd itself never
 * writes a file.
 */
#include <sys/wait.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ballastd/ctl.h"
#include "keyd/keyring.h"

static uid_t
key_owner(void)
{
	struct passwd	*pw;

	if (geteuid() != 0)
		return geteuid();
	pw = getpwnam(ctl_conf()->user[PROC_KEYD]);
	return pw != NULL ? pw->pw_uid : 0;
}

static int
key_init(const char *path)
{
	struct keyring	*kr;
	char		 err[512];

	if (access(path, F_OK) == 0) {
		fprintf(stderr, "ballastctl: %s exists; not replacing a "
		    "keyring (every sealed secret depends on it)\n", path);
		return 1;
	}
	if ((kr = keyring_generate()) == NULL) {
		fprintf(stderr, "ballastctl: cannot generate a keyring\n");
		return 1;
	}
	if (keyring_write(kr, path, err, sizeof(err)) == -1) {
		keyring_free(kr);
		fprintf(stderr, "ballastctl: %s\n", err);
		return 1;
	}
	keyring_free(kr);
	printf("keyring %s created with key 1 and a token signing key\n",
	    path);
	return 0;
}

static struct keyring *
key_load(void)
{
	struct keyring	*kr;
	char		 err[512];

	if (keyring_load(ctl_conf()->keyring, key_owner(), &kr, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "ballastctl: %s\n", err);
		return NULL;
	}
	return kr;
}

/*
 * Ask a running suite to reload.  ctl_reload_quiet() exits when ballastd
 * cannot be reached, but by then the keyring is written and the command
 * has done its job: ask from a child, so that a stopped suite is a note
 * and not a failure a script would retry (rotating a second time).
 */
static int
key_reload(void)
{
	pid_t	 pid;
	int	 status;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0)
		_exit(ctl_reload_quiet() == 0 ? 0 : 1);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Write, then let a running suite's keyd read it. */
static int
key_save(struct keyring *kr, const char *done)
{
	char	 err[512];

	if (keyring_write(kr, ctl_conf()->keyring, err, sizeof(err)) == -1) {
		fprintf(stderr, "ballastctl: %s\n", err);
		keyring_free(kr);
		return 1;
	}
	keyring_free(kr);
	printf("%s\n", done);
	if (key_reload() != 0)
		printf("the suite did not take the new keyring now; it will "
		    "at its next start or reload\n");
	return 0;
}

static int
key_rotate(void)
{
	struct keyring	*kr;
	uint32_t	 id;
	char		 msg[200];

	if ((kr = key_load()) == NULL)
		return 1;
	if (keyring_add_key(kr, &id) == -1) {
		fprintf(stderr, "ballastctl: cannot add a key: %s\n",
		    strerror(errno));
		keyring_free(kr);
		return 1;
	}
	snprintf(msg, sizeof(msg), "key %u added; new secrets are sealed "
	    "with it, older ones still open with their own keys", id);
	return key_save(kr, msg);
}

static int
key_retire(const char *arg)
{
	struct keyring	*kr;
	const char	*errstr;
	uint32_t	 id;
	char		 msg[200];

	id = (uint32_t)strtonum(arg, 1, UINT32_MAX, &errstr);
	if (errstr != NULL) {
		fprintf(stderr, "ballastctl: key id %s: %s\n", arg, errstr);
		return 2;
	}
	if ((kr = key_load()) == NULL)
		return 1;
	if (keyring_retire(kr, id) == -1) {
		fprintf(stderr, "ballastctl: cannot retire key %u: %s\n", id,
		    errno == EBUSY ? "it is the newest key, which seals new "
		    "secrets" : errno == ENOENT ? "no such key" :
		    strerror(errno));
		keyring_free(kr);
		return 1;
	}
	snprintf(msg, sizeof(msg), "key %u retired", id);
	return key_save(kr, msg);
}

/*
 * key rewrap: indexd has keyd re-seal every stored secret under the
 * newest key; the plaintexts stay inside keyd.
 */
static int
key_rewrap(void)
{
	char	*answer;

	if (ctl_admin_request("rewrap", "", &answer, 0) != 0)
		return 1;
	printf("%s\n", answer);
	free(answer);
	return 0;
}

/*
 * How many stored secrets each key seals, from the running indexd
 * ("ID COUNT" lines); -1 when the suite cannot say.
 */
static long long
key_secret_count(const char *counts, uint32_t id)
{
	const char	*p = counts;
	unsigned long	 kid;
	long long	 n;

	while (p != NULL && *p != '\0') {
		if (sscanf(p, "%lu %lld", &kid, &n) == 2 && kid == id)
			return n;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return 0;
}

static int
key_status(void)
{
	struct keyring	*kr;
	time_t		 now = time(NULL);
	char		*counts = NULL;

	if ((kr = key_load()) == NULL)
		return 1;
	if (ctl_admin_request("secrets", "", &counts, 1) != 0)
		counts = NULL;
	printf("%-6s %-20s %8s %8s %s\n", "KEY", "CREATED", "AGE(d)",
	    "SECRETS", "");
	for (size_t i = 0; i < kr->nkeys; i++) {
		const struct keyring_key	*k = &kr->keys[i];
		char				 when[32];
		time_t				 t = (time_t)k->created;

		char				 nsec[24] = "-";

		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
		if (counts != NULL)
			snprintf(nsec, sizeof(nsec), "%lld",
			    key_secret_count(counts, k->id));
		printf("%-6u %-20s %8lld %8s %s\n", k->id, when,
		    (long long)((now - t) / 86400), nsec,
		    i + 1 == kr->nkeys ? "newest, seals" : "opens only");
	}
	printf("token signing key %u\n", kr->sign_id);
	if (counts == NULL)
		printf("secret counts need the running suite "
		    "(ballastd is not reachable)\n");
	free(counts);
	keyring_free(kr);
	return 0;
}

int
ctl_key(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[0], "init") == 0)
		return key_init(argv[1]);
	if (argc == 1 && strcmp(argv[0], "rotate") == 0)
		return key_rotate();
	if (argc == 1 && strcmp(argv[0], "rewrap") == 0)
		return key_rewrap();
	if (argc == 2 && strcmp(argv[0], "retire") == 0)
		return key_retire(argv[1]);
	if (argc == 1 && strcmp(argv[0], "status") == 0)
		return key_status();
	ctl_usage();
}
