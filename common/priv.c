/*
 * Dropping root, as OpenBSD's daemons and OpenSSH do: look the user up
 * while /etc is still there, chroot into a directory nobody but root can
 * change, set the groups, the gid and then the uid (all three ids each),
 * and check that none of it can be undone.
 *
 * priv_nodump() is for keyd: no core file and not dumpable, so neither a
 * crash nor a ptrace by a process of the same uid reveals the keyring.
 * Both run before sandbox_pledge(): the filter forbids their syscalls.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sandbox.h"

/* A directory on the way to the chroot: root's, writable by root only. */
static int
chroot_component_ok(const char *path)
{
	struct stat	 st;

	if (stat(path, &st) == -1) {
		log_warn("%s: chroot directory %s", __func__, path);
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_warnx("%s: %s: not a directory", __func__, path);
		return 0;
	}
	if (st.st_uid != 0) {
		log_warnx("%s: %s: owned by uid %u, not root; refusing to "
		    "chroot", __func__, path, (unsigned int)st.st_uid);
		return 0;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		log_warnx("%s: %s: writable by group or others (mode %04o); "
		    "refusing to chroot", __func__, path,
		    (unsigned int)(st.st_mode & 07777));
		return 0;
	}
	return 1;
}

/*
 * Every component of the path, not only the last: whoever can write a
 * parent can swap the directory for one of their own (as OpenSSH's
 * safely_chroot() checks).
 */
static int
chroot_safe(const char *dir)
{
	char	 path[PATH_MAX];
	size_t	 i, len = strlen(dir);

	if (dir[0] != '/' || len >= sizeof(path)) {
		log_warnx("%s: %s: chroot needs an absolute path", __func__,
		    dir);
		return 0;
	}
	if (!chroot_component_ok("/"))
		return 0;
	for (i = 1; i <= len; i++) {
		if (i < len && dir[i] != '/')
			continue;
		if (dir[i - 1] == '/')
			continue;
		memcpy(path, dir, i);
		path[i] = '\0';
		if (!chroot_component_ok(path))
			return 0;
	}
	return 1;
}

/* Everything took, and nothing can be taken back. */
static int
priv_verify(uid_t uid, gid_t gid)
{
	uid_t	 ru, eu, su;
	gid_t	 rg, eg, sg, groups[2];
	int	 n;

	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1) {
		log_warn("%s: getresuid/getresgid", __func__);
		return -1;
	}
	if (ru != uid || eu != uid || su != uid ||
	    rg != gid || eg != gid || sg != gid) {
		log_warnx("%s: ids not dropped: uid %u/%u/%u gid %u/%u/%u",
		    __func__, (unsigned)ru, (unsigned)eu, (unsigned)su,
		    (unsigned)rg, (unsigned)eg, (unsigned)sg);
		return -1;
	}
	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1) {
		log_warnx("%s: root could be regained", __func__);
		return -1;
	}
	n = getgroups(2, groups);
	if (n != 1 || groups[0] != gid) {
		log_warnx("%s: supplementary groups not dropped", __func__);
		return -1;
	}
	return 0;
}

int
priv_drop(const char *user, const char *chroot_dir)
{
	struct passwd	*pw;
	uid_t		 uid;
	gid_t		 gid;

	if (geteuid() != 0) {
		log_warnx("%s: not started as root; not changing uid "
		    "(development mode)", __func__);
		return 0;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_warnx("%s: user \"%s\" does not exist%s%s", __func__, user,
		    errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0 || gid == 0) {
		log_warnx("%s: refusing to run as user \"%s\": uid or gid 0",
		    __func__, user);
		return -1;
	}
	if (chroot_dir != NULL) {
		if (!chroot_safe(chroot_dir))
			return -1;
		if (chroot(chroot_dir) == -1 || chdir("/") == -1) {
			log_warn("%s: chroot %s", __func__, chroot_dir);
			return -1;
		}
	}
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		log_warn("%s: cannot drop to user \"%s\" (uid %u)", __func__,
		    user, (unsigned int)uid);
		return -1;
	}
	return priv_verify(uid, gid);
}

int
priv_nodump(void)
{
	struct rlimit	 rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) == -1) {
		log_warn("%s: setrlimit RLIMIT_CORE", __func__);
		return -1;
	}
#ifdef __linux__
	/* Also makes /proc/<pid>/ root's and refuses same-uid ptrace. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		log_warn("%s: PR_SET_DUMPABLE", __func__);
		return -1;
	}
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) {
		log_warnx("%s: process is still dumpable", __func__);
		return -1;
	}
#endif
	/* OpenBSD: a process that changed ids is not traceable anyway. */
	return 0;
}
