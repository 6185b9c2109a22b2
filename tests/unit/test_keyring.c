/*
 * The keyring: rotation and retirement rules, locked memory, the file
 * written by keyring_write and read back, and every refusal of the loader
 * with its exact message (mode, owner, symlink, size, each malformed line).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "keyd/crypto.h"
#include "keyd/keyring.h"

/* base64 of 32 zero bytes and of 32 bytes of 0x01 */
#define K0	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define K1	"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
#define GOOD	"ballast-keyring 1\nkey 1 1700000000 " K0 "\nkey 3 1700000100 " \
		K1 "\nsign 1 1700000000 " K1 "\n"

static char	 tmpdir[PATH_MAX];

static int
setup(void **state)
{
	strlcpy(tmpdir, "/tmp/test_keyring.XXXXXX", sizeof(tmpdir));
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
teardown(void **state)
{
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
path_in(char *buf, size_t sz, const char *name)
{
	assert_true((size_t)snprintf(buf, sz, "%s/%s", tmpdir, name) < sz);
}

static void
write_text(const char *path, const char *text, size_t len, mode_t mode)
{
	int	 fd;

	unlink(path);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) != -1);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* Load path and expect failure with exactly want as the message. */
static void
expect_load_error(const char *path, uid_t owner, const char *want)
{
	struct keyring	*kr = (struct keyring *)1;
	char		 err[512] = "";

	assert_int_equal(keyring_load(path, owner, &kr, err, sizeof(err)), -1);
	assert_null(kr);
	assert_string_equal(err, want);
}

/* ---- in memory */

static long
vmlck_kb(void)
{
	FILE	*f;
	char	 line[256];
	long	 kb = -1;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void
test_memory_locked(void **state)
{
	struct keyring	*kr;
	long		 before = vmlck_kb(), during;

#ifdef BALLAST_SAN
	/* ASan intercepts mlock() as a no-op: VmLck cannot move. */
	before = -1;
#endif
	assert_non_null(kr = keyring_generate());
	assert_int_equal((uintptr_t)kr % sysconf(_SC_PAGESIZE), 0);
	during = vmlck_kb();
	if (before >= 0)
		assert_true(during >= before + 4);
	keyring_free(kr);
	if (before >= 0)
		assert_int_equal(vmlck_kb(), before);
}

static void
test_generate_rotate_retire(void **state)
{
	struct keyring	*kr;
	uint32_t	 id, i;
	uint8_t		 zero[32] = { 0 };

	assert_non_null(kr = keyring_generate());
	assert_int_equal(kr->nkeys, 1);
	assert_int_equal(kr->keys[0].id, 1);
	assert_int_equal(kr->sign_id, 1);
	assert_true(kr->keys[0].created > 1600000000);
	assert_memory_not_equal(kr->keys[0].key, zero, 32);
	assert_memory_not_equal(kr->sign_seed, zero, 32);
	assert_memory_not_equal(kr->sign_seed, kr->keys[0].key, 32);

	/* The only key cannot go; an unknown one is not found. */
	assert_int_equal(keyring_retire(kr, 1), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(keyring_retire(kr, 9), -1);
	assert_int_equal(errno, ENOENT);

	for (i = 2; i <= KEYRING_MAX_KEYS; i++) {
		assert_int_equal(keyring_add_key(kr, &id), 0);
		assert_int_equal(id, i);
	}
	assert_memory_not_equal(kr->keys[0].key, kr->keys[1].key, 32);
	/* Full. */
	assert_int_equal(keyring_add_key(kr, &id), -1);
	assert_int_equal(errno, ENOSPC);
	/* The newest cannot go; a middle one can, order is kept. */
	assert_int_equal(keyring_retire(kr, KEYRING_MAX_KEYS), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(keyring_retire(kr, 5), 0);
	assert_null(keyring_find(kr, 5));
	assert_non_null(keyring_find(kr, 4));
	assert_non_null(keyring_find(kr, 6));
	assert_int_equal(kr->nkeys, KEYRING_MAX_KEYS - 1);
	for (i = 1; i < kr->nkeys; i++)
		assert_true(kr->keys[i].id > kr->keys[i - 1].id);
	/* Ids continue from the newest, never reuse a retired one. */
	assert_int_equal(keyring_add_key(kr, &id), 0);
	assert_int_equal(id, KEYRING_MAX_KEYS + 1);
	assert_int_equal(keyring_newest(kr)->id, KEYRING_MAX_KEYS + 1);
	keyring_free(kr);
}

/* ---- the file */

static void
assert_same_keyring(const struct keyring *a, const struct keyring *b)
{
	size_t	 i;

	assert_int_equal(a->nkeys, b->nkeys);
	for (i = 0; i < a->nkeys; i++) {
		assert_int_equal(a->keys[i].id, b->keys[i].id);
		assert_int_equal(a->keys[i].created, b->keys[i].created);
		assert_memory_equal(a->keys[i].key, b->keys[i].key, 32);
	}
	assert_int_equal(a->sign_id, b->sign_id);
	assert_int_equal(a->sign_created, b->sign_created);
	assert_memory_equal(a->sign_seed, b->sign_seed, 32);
}

static void
test_write_load(void **state)
{
	struct keyring	*kr, *back;
	char		 path[PATH_MAX], tmp[PATH_MAX], err[256];
	char		 text[4096], text2[4096];
	struct stat	 st;
	size_t		 len, len2;
	ssize_t		 n;
	int		 fd;

	path_in(path, sizeof(path), "keyring");
	assert_non_null(kr = keyring_generate());
	assert_int_equal(keyring_add_key(kr, NULL), 0);
	assert_int_equal(keyring_write(kr, path, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0400);
	path_in(tmp, sizeof(tmp), "keyring.tmp");
	assert_int_equal(access(tmp, F_OK), -1);

	assert_int_equal(keyring_load(path, geteuid(), &back, err,
	    sizeof(err)), 0);
	assert_same_keyring(kr, back);

	/* The file is the canonical text, line by line. */
	assert_true((fd = open(path, O_RDONLY)) != -1);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	assert_true(n > 0);
	text[n] = '\0';
	assert_int_equal(keyring_format(back, text2, sizeof(text2), &len2), 0);
	assert_int_equal(len2, (size_t)n);
	assert_string_equal(text, text2);
	assert_true(strncmp(text, "ballast-keyring 1\nkey 1 ", 24) == 0);
	assert_non_null(strstr(text, "\nkey 2 "));
	assert_non_null(strstr(text, "\nsign 1 "));
	keyring_free(back);

	/* Rewriting replaces the file (rotation persists). */
	assert_int_equal(keyring_retire(kr, 1), 0);
	assert_int_equal(keyring_write(kr, path, err, sizeof(err)), 0);
	assert_int_equal(keyring_load(path, geteuid(), &back, err,
	    sizeof(err)), 0);
	assert_same_keyring(kr, back);
	keyring_free(back);

	/* A leftover path.tmp is not clobbered. */
	write_text(tmp, "x", 1, 0600);
	assert_int_equal(keyring_write(kr, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "keyring.tmp: exists"));
	assert_int_equal(stat(tmp, &st), 0);
	assert_int_equal(st.st_size, 1);
	unlink(tmp);
	/* A symlink at path.tmp is not followed. */
	assert_int_equal(symlink("/tmp/keyring-target-must-not-exist", tmp),
	    0);
	assert_int_equal(keyring_write(kr, path, err, sizeof(err)), -1);
	assert_int_equal(access("/tmp/keyring-target-must-not-exist", F_OK),
	    -1);
	unlink(tmp);

	/* Formatting refuses a keyring the parser would refuse. */
	kr->sign_id = 0;
	assert_int_equal(keyring_format(kr, text, sizeof(text), &len), -1);
	keyring_free(kr);
}

static void
test_load_good_text(void **state)
{
	struct keyring	*kr;
	char		 path[PATH_MAX], err[256];

	path_in(path, sizeof(path), "good");
	write_text(path, GOOD, strlen(GOOD), 0400);
	assert_int_equal(keyring_load(path, geteuid(), &kr, err,
	    sizeof(err)), 0);
	assert_int_equal(kr->nkeys, 2);
	assert_int_equal(kr->keys[0].id, 1);
	assert_int_equal(kr->keys[1].id, 3);
	assert_int_equal(kr->keys[1].created, 1700000100);
	assert_int_equal(kr->keys[0].key[31], 0);
	assert_int_equal(kr->keys[1].key[0], 1);
	assert_int_equal(keyring_newest(kr)->id, 3);
	assert_int_equal(kr->sign_seed[17], 1);
	keyring_free(kr);
	/* 0600 is fine too: only group and others matter. */
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(keyring_load(path, geteuid(), &kr, err,
	    sizeof(err)), 0);
	keyring_free(kr);
}

static void
test_load_mode(void **state)
{
	char	 path[PATH_MAX], want[PATH_MAX + 128];

	path_in(path, sizeof(path), "modes");
	write_text(path, GOOD, strlen(GOOD), 0644);
	snprintf(want, sizeof(want), "%s: mode 0644 is readable by group and "
	    "others; chmod 0400 it", path);
	expect_load_error(path, geteuid(), want);

	assert_int_equal(chmod(path, 0440), 0);
	snprintf(want, sizeof(want), "%s: mode 0440 is readable by group; "
	    "chmod 0400 it", path);
	expect_load_error(path, geteuid(), want);

	assert_int_equal(chmod(path, 0402), 0);
	snprintf(want, sizeof(want), "%s: mode 0402 is writable by others; "
	    "chmod 0400 it", path);
	expect_load_error(path, geteuid(), want);

	assert_int_equal(chmod(path, 0464), 0);
	snprintf(want, sizeof(want), "%s: mode 0464 is readable and writable "
	    "by group and readable by others; chmod 0400 it", path);
	expect_load_error(path, geteuid(), want);
}

static void
test_load_owner(void **state)
{
	struct keyring	*kr;
	char		 path[PATH_MAX], want[PATH_MAX + 128], err[256];

	if (geteuid() != 0)
		skip();
	path_in(path, sizeof(path), "owned");
	write_text(path, GOOD, strlen(GOOD), 0400);
	/* root may own it whatever the expected owner. */
	assert_int_equal(keyring_load(path, 4242, &kr, err, sizeof(err)), 0);
	keyring_free(kr);
	/* nobody may not. */
	assert_int_equal(chown(path, 65534, 65534), 0);
	snprintf(want, sizeof(want), "%s: owned by uid 65534, expected uid "
	    "4242 or root", path);
	expect_load_error(path, 4242, want);
	/* Unless it is the expected owner. */
	assert_int_equal(keyring_load(path, 65534, &kr, err, sizeof(err)), 0);
	keyring_free(kr);
}

static void
test_load_not_a_file(void **state)
{
	struct keyring	*kr;
	char		 path[PATH_MAX], link[PATH_MAX], want[PATH_MAX + 128];
	char		 err[256];
	int		 fd;

	path_in(path, sizeof(path), "target");
	write_text(path, GOOD, strlen(GOOD), 0400);
	path_in(link, sizeof(link), "link");
	assert_int_equal(symlink(path, link), 0);
	snprintf(want, sizeof(want), "%s: is a symbolic link; name the file "
	    "itself", link);
	expect_load_error(link, geteuid(), want);

	/* A directory passed as a descriptor. */
	assert_true((fd = open(tmpdir, O_RDONLY | O_DIRECTORY)) != -1);
	assert_int_equal(chmod(tmpdir, 0700), 0);
	assert_int_equal(keyring_load_fd(fd, "dir", geteuid(), &kr, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "dir: not a regular file");
	close(fd);

	path_in(path, sizeof(path), "missing");
	assert_int_equal(keyring_load(path, geteuid(), &kr, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "No such file"));
}

static void
test_load_oversize(void **state)
{
	char	 path[PATH_MAX], want[PATH_MAX + 128], *big;
	struct keyring *kr;
	char	 err[256];
	size_t	 len = KEYRING_MAX_FILE + 1;

	assert_non_null(big = malloc(len));
	memset(big, 'k', len);
	memcpy(big, GOOD, strlen(GOOD));
	path_in(path, sizeof(path), "big");
	write_text(path, big, len, 0400);
	snprintf(want, sizeof(want), "%s: 65537 bytes is larger than the "
	    "65536 allowed", path);
	expect_load_error(path, geteuid(), want);
	assert_int_equal(keyring_parse(big, len, "big", &kr, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "big: larger than 65536 bytes");
	free(big);
}

struct bad {
	const char	*text;
	const char	*err;
};

static const struct bad bad_files[] = {
	{ "", "k: empty file" },
	{ "ballast-keyring 1", "k:1: last line does not end in a newline" },
	{ "ballast-keyring 2\n", "k:1: unsupported keyring version "
	    "(expected \"ballast-keyring 1\")" },
	{ "ballast keyring\n", "k:1: not a keyring file (the first line must "
	    "be \"ballast-keyring 1\")" },
	{ "ballast-keyring 1\n", "k: no key line" },
	{ "ballast-keyring 1\nkey 1 1 " K0 "\n", "k: no sign line" },
	{ "ballast-keyring 1\r\nkey 1 1 " K0 "\n",
	    "k:1: carriage return (DOS line ending)" },
	{ "ballast-keyring 1\n\nkey 1 1 " K0 "\n", "k:2: empty line" },
	{ "ballast-keyring 1\n# comment\n", "k:2: too few fields (expected "
	    "keyword, id, created, base64)" },
	{ "ballast-keyring 1\nkey  1 1 " K0 "\n", "k:2: empty field (fields "
	    "are separated by exactly one space)" },
	{ "ballast-keyring 1\nkey 1 1 " K0 " \n", "k:2: empty field (fields "
	    "are separated by exactly one space)" },
	{ "ballast-keyring 1\nkey\t1 1 " K0 "\n", "k:2: too few fields "
	    "(expected keyword, id, created, base64)" },
	{ "ballast-keyring 1\nkey 1 1 " K0 " x\n", "k:2: too many fields "
	    "(expected keyword, id, created, base64)" },
	{ "ballast-keyring 1\nkeys 1 1 " K0 "\n", "k:2: unknown keyword "
	    "(expected \"key\" or \"sign\")" },
	{ "ballast-keyring 1\nkey 0 1 " K0 "\n", "k:2: id is too small "
	    "(range 1..4294967295)" },
	{ "ballast-keyring 1\nkey 4294967296 1 " K0 "\n", "k:2: id is too "
	    "large (range 1..4294967295)" },
	{ "ballast-keyring 1\nkey 01 1 " K0 "\n", "k:2: id is not a "
	    "canonical decimal number" },
	{ "ballast-keyring 1\nkey +1 1 " K0 "\n", "k:2: id is not a decimal "
	    "number" },
	{ "ballast-keyring 1\nkey 1 -5 " K0 "\n", "k:2: created is not a "
	    "decimal number" },
	{ "ballast-keyring 1\nkey 1 99999999999999999999 " K0 "\n",
	    "k:2: created is too large (range 0..9223372036854775807)" },
	{ "ballast-keyring 1\nkey 1 1 AAAA\n", "k:2: key is not the base64 "
	    "of 32 bytes" },
	{ "ballast-keyring 1\nkey 1 1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n",
	    "k:2: key is not the base64 of 32 bytes" },
	{ "ballast-keyring 1\nkey 1 1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",
	    "k:2: key is not the base64 of 32 bytes" },
	{ "ballast-keyring 1\nkey 1 1 " K0 "\nkey 1 2 " K1 "\n", "k:3: key id "
	    "1 is not greater than the previous key id 1" },
	{ "ballast-keyring 1\nkey 2 1 " K0 "\nkey 1 2 " K1 "\n", "k:3: key id "
	    "1 is not greater than the previous key id 2" },
	{ "ballast-keyring 1\nkey 1 1 " K0 "\nsign 1 1 " K0 "\nsign 2 1 " K0
	    "\n", "k:4: more than one sign line" },
	{ "ballast-keyring 1\nsign 1 1 " K0 "\nkey 1 1 " K0 "\n",
	    "k:3: key line after the sign line" },
	{ "ballast-keyring 1\nkey 1 1 " K0 "\nsign 1 1 " K0 "\nx",
	    "k:4: last line does not end in a newline" },
	{ "ballast-keyring 1\nkey 1 1 " K0 "\nsign 1 1 " K0 "\n\n",
	    "k:4: empty line" },
};

static void
test_parse_errors(void **state)
{
	struct keyring	*kr;
	char		 err[256];
	size_t		 i;

	for (i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		kr = (struct keyring *)1;
		err[0] = '\0';
		if (keyring_parse(bad_files[i].text, strlen(bad_files[i].text),
		    "k", &kr, err, sizeof(err)) != -1)
			fail_msg("case %zu parsed", i);
		assert_null(kr);
		if (strcmp(err, bad_files[i].err) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err,
			    bad_files[i].err);
	}
	/* A NUL byte inside a line. */
	{
		static const char nul[] = "ballast-keyring 1\nkey 1\0 1\n";

		assert_int_equal(keyring_parse(nul, sizeof(nul) - 1, "k", &kr,
		    err, sizeof(err)), -1);
	}
	assert_string_equal(err, "k:2: NUL byte");
}

static void
test_parse_limits(void **state)
{
	struct keyring	*kr;
	char		*text, err[256];
	size_t		 off, i, sz = 8192;

	assert_non_null(text = malloc(sz));
	off = snprintf(text, sz, "ballast-keyring 1\n");
	for (i = 1; i <= KEYRING_MAX_KEYS; i++)
		off += snprintf(text + off, sz - off, "key %zu 1 " K0 "\n", i);
	off += snprintf(text + off, sz - off, "sign 1 1 " K1 "\n");
	assert_int_equal(keyring_parse(text, off, "k", &kr, err, sizeof(err)),
	    0);
	assert_int_equal(kr->nkeys, KEYRING_MAX_KEYS);
	keyring_free(kr);

	/* One key more is refused on its own line. */
	off = snprintf(text, sz, "ballast-keyring 1\n");
	for (i = 1; i <= KEYRING_MAX_KEYS + 1; i++)
		off += snprintf(text + off, sz - off, "key %zu 1 " K0 "\n", i);
	assert_int_equal(keyring_parse(text, off, "k", &kr, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "k:66: more than 64 keys");
	free(text);

	/* Errors never quote key material. */
	text = "ballast-keyring 1\nkey 1 1 c2VjcmV0c2VjcmV0c2VjcmV0\n";
	assert_int_equal(keyring_parse(text, strlen(text), "k", &kr, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "k:2: key is not the base64 of 32 bytes");
	assert_null(strstr(err, "c2Vj"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory_locked),
		cmocka_unit_test(test_generate_rotate_retire),
		cmocka_unit_test(test_write_load),
		cmocka_unit_test(test_load_good_text),
		cmocka_unit_test(test_load_mode),
		cmocka_unit_test(test_load_owner),
		cmocka_unit_test(test_load_not_a_file),
		cmocka_unit_test(test_load_oversize),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_limits),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
