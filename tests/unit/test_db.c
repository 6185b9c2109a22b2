/* common/db.c: db_sandbox() promises from a conninfo (no unveil). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/db.h"

static void
expect_promises(const char *conninfo, const char *want)
{
	char	 p[64] = "stdio";

	assert_int_equal(db_sandbox(conninfo, p, sizeof(p), 0), 0);
	assert_string_equal(p, want);
}

static void
test_unix(void **state)
{
	expect_promises("", "stdio unix");
	expect_promises("dbname=ballast user=ballast_auth", "stdio unix");
	expect_promises("host=/var/run/postgresql dbname=ballast",
	    "stdio unix");
	expect_promises("host=@abstract", "stdio unix");
	expect_promises("postgresql:///ballast?host=/tmp", "stdio unix");
}

static void
test_tcp(void **state)
{
	expect_promises("host=localhost port=5433", "stdio inet dns");
	expect_promises("host=db.example.org", "stdio inet dns");
	/* an address needs no resolver */
	expect_promises("hostaddr=127.0.0.1 port=5433", "stdio inet");
	expect_promises("host=db.example.org hostaddr=10.0.0.1", "stdio inet");
	expect_promises("postgresql://db.example.org:5433/ballast",
	    "stdio inet dns");
	/* a list: one socket directory and one host */
	expect_promises("host=/tmp,db.example.org", "stdio unix inet dns");
	expect_promises("host=a.example,b.example", "stdio inet dns");
}

static void
test_tls_files(void **state)
{
	expect_promises("host=localhost sslmode=verify-full "
	    "sslrootcert=/etc/ballast/pg-ca.crt", "stdio inet dns rpath");
	expect_promises("host=localhost sslmode=require", "stdio inet dns");
	expect_promises("host=/tmp sslcert=/a.crt sslkey=/a.key",
	    "stdio unix rpath");
	expect_promises("host=localhost sslrootcert=system",
	    "stdio inet dns rpath");
}

static void
test_errors(void **state)
{
	char	 p[64] = "stdio";
	char	 small[12] = "stdio";

	assert_int_equal(db_sandbox("host='unterminated", p, sizeof(p), 0),
	    -1);
	assert_int_equal(db_sandbox("nosuchkey=1", p, sizeof(p), 0), -1);
	assert_string_equal(p, "stdio");
	/* "stdio inet dns" does not fit in 12 bytes */
	assert_int_equal(db_sandbox("host=localhost", small, sizeof(small),
	    0), -1);
	/* no word twice, and no partial match ("inetx" is not "inet") */
	strlcpy(p, "stdio inetx", sizeof(p));
	assert_int_equal(db_sandbox("host=h,h", p, sizeof(p), 0), 0);
	assert_string_equal(p, "stdio inetx inet dns");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unix),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_tls_files),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
