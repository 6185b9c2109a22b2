/*
 * One sandbox interface for every process.
 *
 * sandbox_unveil() names the only paths the process may still use (call
 * it zero or more times, then sandbox_pledge()).  sandbox_pledge() takes
 * OpenBSD pledge(2) promises ("stdio unix inet dns rpath wpath ...") and
 * locks the process in: real pledge/unveil on OpenBSD; on Linux
 * no_new_privs, Landlock (file system as unveiled; nothing when nothing was
 * unveiled) where the kernel has it, and a seccomp-bpf allow list built
 * with libseccomp from the promises.  Once pledged, a syscall outside the
 * promises kills the process (SIGSYS); opening files outside the unveiled
 * paths fails with EACCES.
 */
#ifndef BALLAST_SANDBOX_H
#define BALLAST_SANDBOX_H

/* perms: "r", "w", "c" (create), "x" like unveil(2). */
int	sandbox_unveil(const char *path, const char *perms);
/* 0 on success; -1 with errno on failure (the caller fatals). */
int	sandbox_pledge(const char *promises);

/*
 * What a network client reads besides its own files, for callers to
 * unveil read-only: glibc's resolver (a host name lookup opens them;
 * without them under Landlock every name but a literal address fails),
 * and OpenSSL's configuration and the system's CA store.  NULL-ended.
 */
extern const char *const sandbox_resolver_files[];
extern const char *const sandbox_system_ca[];
/* Unveil read-only each of the NULL-ended paths that exists. */
int	sandbox_unveil_existing(const char *const *paths);
/* What the kernel gave us, for logs and tests: "seccomp+landlock(abi 7)". */
const char *sandbox_describe(void);

/*
 * Drop root: chroot(dir) when dir is not NULL, then setgroups/setresgid/
 * setresuid to user, and check that none of it can be undone.  When not
 * started as root, logs a warning and changes nothing.
 */
int	priv_drop(const char *user, const char *chroot_dir);
/* No core files, not dumpable, not ptrace-able (keyd). */
int	priv_nodump(void);

#endif
