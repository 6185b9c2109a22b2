/*
 * fetcher/connector.c: the sandbox a network connector asks for.  A
 * fetcher under Landlock reads only what is listed, so the resolver's
 * files must be there (without them every host name but "localhost",
 * which curl answers itself, failed to resolve), and so must the CA
 * file and the system's CA store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "common/sandbox.h"
#include "fetcher/connector.h"

static int
listed(const struct fetch_sandbox *sb, const char *path)
{
	for (size_t i = 0; i < sb->npaths; i++)
		if (strcmp(sb->paths[i], path) == 0)
			return 1;
	return 0;
}

static void
test_net_sandbox(void **state)
{
	struct fetch_sandbox	 sb;
	char			 err[256];

	memset(&sb, 0, sizeof(sb));
	assert_int_equal(sandbox_add_net(&sb, "/etc/ballast/ca.pem", err,
	    sizeof(err)), 0);
	assert_string_equal(sb.promises, "inet dns rpath thread");
	assert_true(listed(&sb, "/etc/ballast/ca.pem"));
	for (const char *const *p = sandbox_resolver_files; *p != NULL; p++)
		if (access(*p, F_OK) == 0)
			assert_true(listed(&sb, *p));
	assert_true(access("/etc/hosts", F_OK) != 0 ||
	    listed(&sb, "/etc/hosts"));
	for (const char *const *p = sandbox_system_ca; *p != NULL; p++)
		if (access(*p, F_OK) == 0)
			assert_true(listed(&sb, *p));
	/* the connectors that use it list the same */
	memset(&sb, 0, sizeof(sb));
	assert_int_equal(sandbox_add_net(&sb, NULL, err, sizeof(err)), 0);
	assert_false(listed(&sb, "/etc/ballast/ca.pem"));
}

static void
test_no_room(void **state)
{
	struct fetch_sandbox	 sb;
	char			 err[256];

	memset(&sb, 0, sizeof(sb));
	sb.npaths = FETCH_SANDBOX_PATHS;
	assert_int_equal(sandbox_add_path(&sb, "/x", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no room"));
	sb.npaths = 0;
	assert_int_equal(sandbox_add_path(&sb, "/x", err, sizeof(err)), 0);
	assert_int_equal(sb.npaths, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net_sandbox),
		cmocka_unit_test(test_no_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
