/*
 * ballast.conf: defaults, the sample file, every kind of error with its
 * exact "file:line:" message, and the print -> parse golden property.
 */
#include <sys/stat.h>

#include <errno.h>
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

#include "common/conf.h"
#include "common/log.h"
#include "common/proc.h"

#define NAME	"t.conf"

/* as in common/conf.c: the Makefile normally defines it */
#ifndef BALLAST_LIBEXECDIR
#define BALLAST_LIBEXECDIR	"/usr/local/libexec/ballast"
#endif

static char	tmpdir[PATH_MAX];

static int
setup_tmpdir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_conf.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
teardown_tmpdir(void **state)
{
	static const char *const files[] = { "big.conf", "fifo", "ok.conf" };
	char	 path[PATH_MAX + 16];

	/* only files this test created live there */
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		unlink(path);
	}
	rmdir(tmpdir);
	return 0;
}

static const char *
srcpath(const char *rel, char *buf, size_t len)
{
	const char	*dir = getenv("BALLAST_SRCDIR");

	snprintf(buf, len, "%s/%s", dir != NULL ? dir : ".", rel);
	return buf;
}

/* Parse text of the given length; the struct must stay untouched on error. */
static int
parse_len(const char *text, size_t len, struct ballast_conf *c, char *err,
    size_t errlen)
{
	struct ballast_conf	 before;
	int			 rv;

	memset(c, 0xa5, sizeof(*c));
	memcpy(&before, c, sizeof(before));
	err[0] = '\0';
	rv = conf_parse_text(NAME, text, len, c, err, errlen);
	if (rv == -1)
		assert_memory_equal(&before, c, sizeof(before));
	else
		assert_string_equal(err, "");
	return rv;
}

static int
parse(const char *text, struct ballast_conf *c, char *err, size_t errlen)
{
	return parse_len(text, strlen(text), c, err, errlen);
}

static void
expect_error_len(const char *text, size_t len, const char *want)
{
	struct ballast_conf	 c;
	char			 err[2048];

	assert_int_equal(parse_len(text, len, &c, err, sizeof(err)), -1);
	assert_string_equal(err, want);
}

static void
expect_error(const char *text, const char *want)
{
	expect_error_len(text, strlen(text), want);
}

static void
roundtrip(const struct ballast_conf *c)
{
	struct ballast_conf	 again;
	char			 err[256], *text, *text2;

	assert_non_null(text = conf_to_text(c));
	assert_int_equal(conf_parse_text("printed", text, strlen(text),
	    &again, err, sizeof(err)), 0);
	assert_memory_equal(c, &again, sizeof(again));
	/* printing is a fixed point too */
	assert_non_null(text2 = conf_to_text(&again));
	assert_string_equal(text, text2);
	free(text);
	free(text2);
}

static void
test_defaults(void **state)
{
	struct ballast_conf	 c;

	memset(&c, 0xff, sizeof(c));
	conf_defaults(&c);
	assert_string_equal(c.listen_addr, "127.0.0.1");
	assert_int_equal(c.listen_port, 8443);
	assert_string_equal(c.tls_cert, "/etc/ballast/tls.crt");
	assert_string_equal(c.tls_key, "/etc/ballast/tls.key");
	assert_string_equal(c.keyring, "/etc/ballast/keyring");
	assert_string_equal(c.control_socket, "/run/ballast/control.sock");
	assert_string_equal(c.libexec_dir, BALLAST_LIBEXECDIR);
	assert_string_equal(c.chroot_dir, "/var/empty");
	assert_string_equal(c.db_auth, "dbname=ballast user=ballast_auth");
	assert_string_equal(c.db_index, "dbname=ballast user=ballast_index");
	assert_string_equal(c.user[PROC_PARENT], "");
	assert_string_equal(c.user[PROC_FRONT], "_ballast");
	assert_string_equal(c.user[PROC_KEYD], "_ballastkey");
	assert_string_equal(c.user[PROC_AUTHD], "_ballastauth");
	assert_string_equal(c.user[PROC_INDEXD], "_ballastidx");
	assert_string_equal(c.user[PROC_CTL], "");
	assert_string_equal(c.user[PROC_FETCHER], "_ballastfetch");
	assert_int_equal(c.max_connections, 1024);
	assert_int_equal(c.max_header_size, 16 * 1024);
	assert_int_equal(c.max_body_size, 16 * 1024 * 1024);
	assert_int_equal(c.header_timeout, 10);
	assert_int_equal(c.body_timeout, 30);
	assert_int_equal(c.idle_timeout, 60);
	assert_int_equal(c.ipc_timeout, 30);
	assert_int_equal(c.log_level, LOG_LEVEL_INFO);
}

/* Empty text, blanks and comments give the defaults, byte for byte. */
static void
test_empty_and_comments(void **state)
{
	struct ballast_conf	 c, d;
	char			 err[256];

	conf_defaults(&d);
	assert_int_equal(parse("", &c, err, sizeof(err)), 0);
	assert_memory_equal(&c, &d, sizeof(c));
	assert_int_equal(parse("\n\n   \t\n# only a comment\n  # indented\n"
	    "#no newline at end", &c, err, sizeof(err)), 0);
	assert_memory_equal(&c, &d, sizeof(c));
	assert_int_equal(parse_len(NULL, 0, &c, err, sizeof(err)), 0);
	assert_memory_equal(&c, &d, sizeof(c));

	/* '#' ends a bare word; inside quotes it is kept */
	assert_int_equal(parse("keyring /k#comment\n"
	    "database auth \"a#b\"# comment\n"
	    "\tlimit\tconnections\t7  # tabs\n"
	    "log level debug", &c, err, sizeof(err)), 0);
	assert_string_equal(c.keyring, "/k");
	assert_string_equal(c.db_auth, "a#b");
	assert_int_equal(c.max_connections, 7);
	assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
}

/* Every setting with a value other than its default. */
static void
test_all_settings(void **state)
{
	struct ballast_conf	 c;
	char			 err[256];

	assert_int_equal(parse(
	    "listen on ::1 port 443\n"
	    "tls certificate /c\n"
	    "tls key \"/k y\"\n"
	    "keyring /kr\n"
	    "control socket /s.sock\n"
	    "libexec /le\n"
	    "chroot /ch\n"
	    "database auth \"host=db dbname=a\"\n"
	    "database index \"\"\n"
	    "user front f\n"
	    "user keyd k_1\n"
	    "user authd a-2\n"
	    "user indexd _i\n"
	    "user fetcher fe\n"
	    "limit connections 1000000\n"
	    "limit connections-per-address 7\n"
	    "limit header-size 1k\n"
	    "limit body-size 1025\n"
	    "timeout header 1\n"
	    "timeout body 3600\n"
	    "timeout idle 2\n"
	    "timeout ipc 3\n"
	    "password memory 8192\n"
	    "password iterations 3\n"
	    "token lifetime 60\n"
	    "session lifetime 86400\n"
	    "login attempts 10 per 300\n"
	    "search rate 20 per 10\n"
	    "log level warn\n"
	    "access log \"/var/log/ballast/access.log\"\n", &c, err,
	    sizeof(err)), 0);
	assert_string_equal(c.listen_addr, "::1");
	assert_int_equal(c.listen_port, 443);
	assert_string_equal(c.tls_cert, "/c");
	assert_string_equal(c.tls_key, "/k y");
	assert_string_equal(c.keyring, "/kr");
	assert_string_equal(c.control_socket, "/s.sock");
	assert_string_equal(c.libexec_dir, "/le");
	assert_string_equal(c.chroot_dir, "/ch");
	assert_string_equal(c.db_auth, "host=db dbname=a");
	assert_string_equal(c.db_index, "");
	assert_string_equal(c.user[PROC_FRONT], "f");
	assert_string_equal(c.user[PROC_KEYD], "k_1");
	assert_string_equal(c.user[PROC_AUTHD], "a-2");
	assert_string_equal(c.user[PROC_INDEXD], "_i");
	assert_string_equal(c.user[PROC_FETCHER], "fe");
	assert_string_equal(c.user[PROC_PARENT], "");
	assert_string_equal(c.user[PROC_CTL], "");
	assert_int_equal(c.max_connections, 1000000);
	assert_int_equal(c.max_conns_per_addr, 7);
	assert_int_equal(c.max_header_size, 1024);
	assert_int_equal(c.max_body_size, 1025);
	assert_int_equal(c.header_timeout, 1);
	assert_int_equal(c.body_timeout, 3600);
	assert_int_equal(c.idle_timeout, 2);
	assert_int_equal(c.ipc_timeout, 3);
	assert_int_equal(c.password_memory, 8192);
	assert_int_equal(c.password_iterations, 3);
	assert_int_equal(c.token_lifetime, 60);
	assert_int_equal(c.session_lifetime, 86400);
	assert_int_equal(c.login_attempts, 10);
	assert_int_equal(c.login_window, 300);
	assert_int_equal(c.search_rate, 20);
	assert_int_equal(c.search_window, 10);
	assert_int_equal(c.log_level, LOG_LEVEL_WARN);
	assert_string_equal(c.access_log, "/var/log/ballast/access.log");
	roundtrip(&c);
}

static void
test_sizes_and_ranges(void **state)
{
	struct ballast_conf	 c;
	char			 err[256];

	assert_int_equal(parse("limit header-size 1M\nlimit body-size 1024M\n"
	    "listen on localhost port 1\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.max_header_size, 1024 * 1024);
	assert_int_equal(c.max_body_size, 1024ULL * 1024 * 1024);
	assert_string_equal(c.listen_addr, "localhost");
	assert_int_equal(c.listen_port, 1);
	assert_int_equal(parse("limit header-size 1048576\n"
	    "listen on 0.0.0.0 port 65535\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.max_header_size, 1024 * 1024);
	assert_int_equal(c.listen_port, 65535);
	assert_int_equal(parse("limit header-size 012K\n", &c, err,
	    sizeof(err)), 0);
	assert_int_equal(c.max_header_size, 12 * 1024);

	expect_error("limit header-size 1048577\n", NAME ":1: limit "
	    "header-size: 1048577 is out of range (1K..1M)");
	expect_error("limit header-size 1023\n", NAME ":1: limit "
	    "header-size: 1023 is out of range (1K..1M)");
	expect_error("limit body-size 1025M\n", NAME ":1: limit "
	    "body-size: 1025M is out of range (1K..1024M)");
	expect_error("limit body-size 99999999999999999999999999\n", NAME
	    ":1: limit body-size: 99999999999999999999999999 is out of range "
	    "(1K..1024M)");
	expect_error("limit body-size 18014398509481984K\n", NAME
	    ":1: limit body-size: 18014398509481984K is out of range "
	    "(1K..1024M)");
	expect_error("limit body-size 1G\n", NAME ":1: limit body-size: "
	    "invalid number '1G'");
	expect_error("limit body-size K\n", NAME ":1: limit body-size: "
	    "invalid number 'K'");
	expect_error("limit body-size 1KK\n", NAME ":1: limit body-size: "
	    "invalid number '1KK'");
	expect_error("limit connections 1K\n", NAME ":1: limit connections: "
	    "invalid number '1K'");
	expect_error("timeout ipc 3601\n", NAME ":1: timeout ipc: 3601 is "
	    "out of range (1..3600)");
	expect_error("timeout idle 0\n", NAME ":1: timeout idle: 0 is out "
	    "of range (1..3600)");
	expect_error("listen on 127.0.0.1 port 0\n", NAME ":1: listen on: "
	    "0 is out of range (1..65535)");
	expect_error("listen on 127.0.0.1 port 65536\n", NAME ":1: listen "
	    "on: 65536 is out of range (1..65535)");
}

static void
test_errors(void **state)
{
	expect_error("foo bar\n", NAME ":1: unknown keyword 'foo'");
	expect_error("\n# c\nlimit foo 3\n",
	    NAME ":3: unknown keyword 'limit foo'");
	expect_error("limit\n", NAME ":1: incomplete keyword 'limit'");
	expect_error("keyring\n", NAME ":1: keyring: missing argument");
	expect_error("listen on 127.0.0.1 port\n",
	    NAME ":1: listen on: missing argument");
	expect_error("keyring /a /b\n", NAME ":1: keyring: too many arguments");
	expect_error("keyring /a 1 2 3 4 5 6 7 8 9 10\n",
	    NAME ":1: keyring: too many arguments");
	expect_error("limit connections abc\n",
	    NAME ":1: limit connections: invalid number 'abc'");
	expect_error("limit connections -1\n",
	    NAME ":1: limit connections: invalid number '-1'");
	expect_error("limit connections \" 5\"\n",
	    NAME ":1: limit connections: invalid number ' 5'");
	expect_error("limit connections 0\n",
	    NAME ":1: limit connections: 0 is out of range (1..1000000)");
	expect_error("limit connections 1000001\n", NAME ":1: limit "
	    "connections: 1000001 is out of range (1..1000000)");
	expect_error("listen on example.com port 1\n", NAME ":1: listen on: "
	    "'example.com' is not an IP address or localhost");
	expect_error("listen on ::1 prt 1\n",
	    NAME ":1: listen on: expected 'port', got 'prt'");
	expect_error("keyring etc/keyring\n",
	    NAME ":1: keyring: path must be absolute");
	expect_error("chroot \"\"\n", NAME ":1: chroot: path must be absolute");
	expect_error("timeout idle 5\n\ntimeout idle 5\n",
	    NAME ":3: timeout idle: already set on line 1");
	expect_error("keyring \"/a\n", NAME ":1: unterminated quoted string");
	expect_error("keyring \"/a\\\"\n",
	    NAME ":1: unterminated quoted string");
	expect_error("keyring \"/a\\n\"\n", NAME ":1: invalid escape '\\n' "
	    "in quoted string (only \\\" and \\\\)");
	expect_error("keyring \"/a\"b\n",
	    NAME ":1: missing space after quoted string");
	expect_error("keyring /a\"b\"\n",
	    NAME ":1: missing space before quoted string");
	expect_error("keyring /a;\n", NAME ":1: unexpected character ';'");
	expect_error("keyring /\xc3\xa9\n", NAME ":1: unexpected byte 0xc3 "
	    "(quote strings with non-ASCII characters)");
	expect_error("user front Root\n",
	    NAME ":1: user front: invalid user name 'Root'");
	expect_error("user keyd 1abc\n",
	    NAME ":1: user keyd: invalid user name '1abc'");
	expect_error("user authd -x\n",
	    NAME ":1: user authd: invalid user name '-x'");
	expect_error("user indexd \"\"\n",
	    NAME ":1: user indexd: invalid user name ''");
	expect_error("user fetcher a23456789012345678901234567890123\n",
	    NAME ":1: user fetcher: invalid user name "
	    "'a23456789012345678901234567890123'");
	expect_error("user parent root\n",
	    NAME ":1: unknown keyword 'user parent'");
	expect_error("token lifetime 3601\n", NAME ":1: token lifetime: 3601 "
	    "is out of range (60..3600)");
	expect_error("login attempts 5 in 60\n", NAME ":1: login attempts: "
	    "expected 'per', got 'in'");
	expect_error("login attempts 0 per 60\n", NAME ":1: login attempts: "
	    "0 is out of range (1..86400)");
	expect_error("search rate 10 per 0\n", NAME ":1: search rate: "
	    "0 is out of range (1..1000000)");
	expect_error("log level verbose\n", NAME ":1: log level: unknown "
	    "level 'verbose' (warn, info or debug)");

	/* bytes that may not appear */
	expect_error_len("keyring /a\n\nkeyring /a\0b\n", 24,
	    NAME ":3: NUL byte in line");
	expect_error("# ok\ndatabase auth \"\xff\"\n",
	    NAME ":2: invalid UTF-8");
	expect_error("# \xc0\xaf overlong\n", NAME ":1: invalid UTF-8");
	expect_error("# \xed\xa0\x80 surrogate\n", NAME ":1: invalid UTF-8");
	expect_error("keyring /a\r/b\n",
	    NAME ":1: carriage return inside a line");
	expect_error("\r\r\n", NAME ":1: carriage return inside a line");
	expect_error("keyring \"/a\x01\"\n",
	    NAME ":1: control character 0x01");
	expect_error("# \x7f\n", NAME ":1: control character 0x7f");
}

static void
test_long_lines_and_strings(void **state)
{
	struct ballast_conf	 c;
	char			 buf[8192], err[256];
	size_t			 n;

	/* 4096 bytes on a line are fine, 4097 are not (CRLF not counted) */
	memset(buf, '#', sizeof(buf));
	memcpy(buf + 4096, "\r\n", 2);
	assert_int_equal(parse_len(buf, 4098, &c, err, sizeof(err)), 0);
	memset(buf, '#', sizeof(buf));
	buf[4097] = '\n';
	expect_error_len(buf, 4098,
	    NAME ":1: line too long (more than 4096 bytes)");
	expect_error_len(buf, 4097,
	    NAME ":1: line too long (more than 4096 bytes)");

	/* a quoted string holds at most CONF_STR_MAX - 1 bytes */
	n = snprintf(buf, sizeof(buf), "database auth \"");
	memset(buf + n, 'x', CONF_STR_MAX - 1);
	snprintf(buf + n + CONF_STR_MAX - 1, sizeof(buf) - n - CONF_STR_MAX
	    + 1, "\"\n");
	assert_int_equal(parse(buf, &c, err, sizeof(err)), 0);
	assert_int_equal(strlen(c.db_auth), CONF_STR_MAX - 1);
	roundtrip(&c);
	memset(buf + n, 'x', CONF_STR_MAX);
	snprintf(buf + n + CONF_STR_MAX, sizeof(buf) - n - CONF_STR_MAX,
	    "\"\n");
	expect_error(buf, NAME ":1: string too long (max 1023 bytes)");
	/* bare words too */
	n = snprintf(buf, sizeof(buf), "keyring /");
	memset(buf + n, 'x', CONF_STR_MAX);
	snprintf(buf + n + CONF_STR_MAX, sizeof(buf) - n - CONF_STR_MAX, "\n");
	expect_error(buf, NAME ":1: string too long (max 1023 bytes)");

	/* a control socket path must fit sockaddr_un */
	n = snprintf(buf, sizeof(buf), "control socket /");
	memset(buf + n, 's', 106);
	snprintf(buf + n + 106, sizeof(buf) - n - 106, "\n");
	assert_int_equal(parse(buf, &c, err, sizeof(err)), 0);
	assert_int_equal(strlen(c.control_socket), 107);
	snprintf(buf + n + 106, sizeof(buf) - n - 106, "s\n");
	expect_error(buf, NAME ":1: control socket: too long (max 107 bytes)");
}

static void
test_oversize_text(void **state)
{
	char	*big;

	assert_non_null(big = malloc(CONF_MAX_SIZE + 1));
	memset(big, '\n', CONF_MAX_SIZE + 1);
	expect_error_len(big, CONF_MAX_SIZE + 1,
	    NAME ": file too large (more than 1048576 bytes)");
	free(big);
}

static void
test_crlf(void **state)
{
	struct ballast_conf	 c;
	char			 err[256];

	assert_int_equal(parse("# windows\r\nkeyring \"/k\"\r\n"
	    "timeout ipc 9\r\n\r\nlog level debug\r", &c, err, sizeof(err)), 0);
	assert_string_equal(c.keyring, "/k");
	assert_int_equal(c.ipc_timeout, 9);
	assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
}

static void
test_sample(void **state)
{
	struct ballast_conf	 c, d;
	char			 path[PATH_MAX], err[512];

	srcpath("etc/ballast.conf.sample", path, sizeof(path));
	memset(&c, 0, sizeof(c));
	if (conf_parse_file(path, &c, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	/* the sample names the default install path of libexec */
	assert_string_equal(c.libexec_dir, "/usr/local/libexec/ballast");
	conf_defaults(&d);
	memset(d.libexec_dir, 0, sizeof(d.libexec_dir));
	strlcpy(d.libexec_dir, c.libexec_dir, sizeof(d.libexec_dir));
	assert_memory_equal(&c, &d, sizeof(c));
	roundtrip(&c);
}

static void
test_print_defaults(void **state)
{
	struct ballast_conf	 c;
	char			*text, want[4096];

	conf_defaults(&c);
	snprintf(want, sizeof(want),
	    "# ballast.conf, normalised (ballastd -nv)\n"
	    "listen on \"127.0.0.1\" port 8443\n"
	    "tls certificate \"/etc/ballast/tls.crt\"\n"
	    "tls key \"/etc/ballast/tls.key\"\n"
	    "keyring \"/etc/ballast/keyring\"\n"
	    "control socket \"/run/ballast/control.sock\"\n"
	    "libexec \"%s\"\n"
	    "chroot \"/var/empty\"\n"
	    "database auth \"dbname=ballast user=ballast_auth\"\n"
	    "database index \"dbname=ballast user=ballast_index\"\n"
	    "database admin \"dbname=ballast user=ballast\"\n"
	    "user front \"_ballast\"\n"
	    "user keyd \"_ballastkey\"\n"
	    "user authd \"_ballastauth\"\n"
	    "user indexd \"_ballastidx\"\n"
	    "user fetcher \"_ballastfetch\"\n"
	    "limit connections 1024\n"
	    "limit connections-per-address 256\n"
	    "limit header-size 16K\n"
	    "limit body-size 16M\n"
	    "timeout header 10\n"
	    "timeout body 30\n"
	    "timeout idle 60\n"
	    "timeout ipc 30\n"
	    "password memory 19456\n"
	    "password iterations 2\n"
	    "token lifetime 900\n"
	    "session lifetime 2592000\n"
	    "login attempts 5 per 60\n"
	    "search rate 600 per 60\n"
	    "sync workers 2\n"
	    "sync timeout 300\n"
	    "vectors postgres\n"
	    "qdrant url \"http://127.0.0.1:6333\"\n"
	    "qdrant collection \"ballast\"\n"
	    "qdrant timeout 10\n"
	    "qdrant outage error\n"
	    "embedder type builtin\n"
	    "embedder url \"http://127.0.0.1:11434/v1/embeddings\"\n"
	    "embedder model \"nomic-embed-text\"\n"
	    "embedder dimension 768\n"
	    "embedder batch 64\n"
	    "embedder timeout 60\n"
	    "log level info\n", BALLAST_LIBEXECDIR);
	/* no "access log" line: it is optional and not set */
	assert_string_equal(c.access_log, "");
	assert_non_null(text = conf_to_text(&c));
	assert_string_equal(text, want);
	free(text);
	roundtrip(&c);
}

/* "access log": printed last when set, absolute path, once. */
static void
test_access_log(void **state)
{
	struct ballast_conf	 c;
	char			 err[256], *text;
	const char		*want = "log level info\n"
				    "access log \"/var/log/b a.log\"\n";

	assert_int_equal(parse("access log \"/var/log/b a.log\"\n", &c, err,
	    sizeof(err)), 0);
	assert_string_equal(c.access_log, "/var/log/b a.log");
	assert_non_null(text = conf_to_text(&c));
	assert_true(strlen(text) > strlen(want));
	assert_string_equal(text + strlen(text) - strlen(want), want);
	free(text);
	roundtrip(&c);
	expect_error("access log\n", NAME ":1: access log: missing argument");
	expect_error("access log a.log\n",
	    NAME ":1: access log: path must be absolute");
	expect_error("access log /a\naccess log /b\n",
	    NAME ":2: access log: already set on line 1");
}

/* "metrics on ADDR port N": absent by default, printed last when set. */
static void
test_metrics(void **state)
{
	struct ballast_conf	 c;
	char			 err[256], *text;
	const char		*want = "access log \"/var/log/a.log\"\n"
				    "metrics on \"127.0.0.1\" port 9464\n";

	assert_int_equal(parse("", &c, err, sizeof(err)), 0);
	assert_string_equal(c.metrics_addr, "");
	assert_int_equal(c.metrics_port, 0);
	assert_non_null(text = conf_to_text(&c));
	assert_null(strstr(text, "metrics"));
	free(text);

	assert_int_equal(parse("metrics on 127.0.0.1 port 9464\n"
	    "access log /var/log/a.log\nlisten on ::1 port 443\n", &c, err,
	    sizeof(err)), 0);
	assert_string_equal(c.metrics_addr, "127.0.0.1");
	assert_int_equal(c.metrics_port, 9464);
	/* the HTTPS listener keeps its own address and port */
	assert_string_equal(c.listen_addr, "::1");
	assert_int_equal(c.listen_port, 443);
	assert_non_null(text = conf_to_text(&c));
	assert_true(strlen(text) > strlen(want));
	assert_string_equal(text + strlen(text) - strlen(want), want);
	free(text);
	roundtrip(&c);

	expect_error("metrics on 127.0.0.1\n",
	    NAME ":1: metrics on: missing argument");
	expect_error("metrics on example.org port 1\n",
	    NAME ":1: metrics on: 'example.org' is not an IP address or "
	    "localhost");
	expect_error("metrics on ::1 port 0\n",
	    NAME ":1: metrics on: 0 is out of range (1..65535)");
	expect_error("metrics on ::1 port 1\nmetrics on ::1 port 2\n",
	    NAME ":2: metrics on: already set on line 1");
}

/* Quotes, backslashes, '#', UTF-8 and odd sizes survive print -> parse. */
static void
test_roundtrip_odd(void **state)
{
	struct ballast_conf	 c;
	char			 err[256], *text;

	assert_int_equal(parse(
	    "tls certificate \"/etc/b \\\"q\\\" \\\\ #x/c\"\n"
	    "database auth \"password='a\\\\b\\\"c' dbname=\xc3\xa9t\xc3\xa9\"\n"
	    "database index \"\"\n"
	    "chroot \"/\\\\\"\n"
	    "listen on \"fe80::1\" port 80\n"
	    "limit header-size 1536\n"
	    "limit body-size 3072K\n"
	    "log level warn\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c.tls_cert, "/etc/b \"q\" \\ #x/c");
	assert_string_equal(c.db_auth, "password='a\\b\"c' dbname=\xc3\xa9t"
	    "\xc3\xa9");
	assert_string_equal(c.chroot_dir, "/\\");
	assert_int_equal(c.max_header_size, 1536);
	assert_int_equal(c.max_body_size, 3 * 1024 * 1024);
	roundtrip(&c);

	assert_non_null(text = conf_to_text(&c));
	assert_non_null(strstr(text, "\ntls certificate "
	    "\"/etc/b \\\"q\\\" \\\\ #x/c\"\n"));
	assert_non_null(strstr(text, "\nlimit header-size 1536\n"));
	assert_non_null(strstr(text, "\nlimit body-size 3M\n"));
	assert_non_null(strstr(text, "\nchroot \"/\\\\\"\n"));
	free(text);
}

/* "mcp origin" repeats: kept in order, printed one line each, checked
 * for shape, duplicates and count. */
static void
test_mcp_origins(void **state)
{
	struct ballast_conf	 c;
	char			 err[256], text[4096], *out;
	size_t			 off = 0;

	assert_int_equal(parse("mcp origin \"https://a.example\"\n"
	    "mcp origin \"http://localhost:6274\"\n"
	    "mcp origin \"https://[::1]:8443\"\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.mcp_norigins, 3);
	assert_string_equal(c.mcp_origin[0], "https://a.example");
	assert_string_equal(c.mcp_origin[1], "http://localhost:6274");
	assert_string_equal(c.mcp_origin[2], "https://[::1]:8443");
	assert_non_null(out = conf_to_text(&c));
	assert_non_null(strstr(out, "timeout ipc 30\n"
	    "mcp origin \"https://a.example\"\n"
	    "mcp origin \"http://localhost:6274\"\n"
	    "mcp origin \"https://[::1]:8443\"\n"
	    "password memory"));
	free(out);
	roundtrip(&c);

	expect_error("mcp origin \"ftp://a.example\"\n", NAME ":1: mcp origin: "
	    "'ftp://a.example' must start with https:// or http://");
	expect_error("mcp origin \"https://a.example/\"\n", NAME ":1: mcp "
	    "origin: 'https://a.example/' is not scheme://host[:port] in "
	    "lower case");
	expect_error("mcp origin \"https://A.example\"\n", NAME ":1: mcp "
	    "origin: 'https://A.example' is not scheme://host[:port] in "
	    "lower case");
	expect_error("mcp origin \"https://\"\n", NAME ":1: mcp origin: "
	    "'https://' is not scheme://host[:port] in lower case");
	expect_error("mcp origin \"https://a.example\"\n"
	    "mcp origin \"https://a.example\"\n", NAME ":2: mcp origin: "
	    "'https://a.example' given twice");
	expect_error("mcp origin\n", NAME ":1: mcp origin: missing argument");
	for (int i = 0; i <= CONF_MCP_ORIGINS; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "mcp origin \"https://h%d.example\"\n", i);
	expect_error(text, NAME ":17: mcp origin: at most 16 origins");
}

/* "sync root" repeats too, and only normalised absolute paths pass. */
static void
test_sync_roots(void **state)
{
	struct ballast_conf	 c;
	char			 err[256], *out;

	assert_int_equal(parse("sync root \"/srv/share\"\n"
	    "sync root \"/\"\nsync workers 4\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.sync_nroots, 2);
	assert_string_equal(c.sync_root[0], "/srv/share");
	assert_string_equal(c.sync_root[1], "/");
	assert_int_equal(c.sync_workers, 4);
	assert_non_null(out = conf_to_text(&c));
	assert_non_null(strstr(out, "sync workers 4\nsync timeout 300\n"
	    "sync root \"/srv/share\"\nsync root \"/\"\n"));
	free(out);
	roundtrip(&c);
	for (const char *const *bad = (const char *const[]){ "srv",
	    "/srv/", "/srv/../etc", "/srv//x", "/srv/.", "/srv/..",
	    "/./srv", NULL }; *bad != NULL; bad++) {
		char	 line[128], want[256];

		snprintf(line, sizeof(line), "sync root \"%s\"\n", *bad);
		snprintf(want, sizeof(want), NAME ":1: sync root: '%s' must "
		    "be an absolute path without '.', '..', '//' or a "
		    "trailing '/'", *bad);
		expect_error(line, want);
	}
	expect_error("sync root \"/a\"\nsync root \"/a\"\n", NAME
	    ":2: sync root: '/a' given twice");
	expect_error("sync workers 0\n", NAME ":1: sync workers: 0 is out "
	    "of range (1..64)");
}

/* Settings that take one word of a list. */
static void
test_words(void **state)
{
	struct ballast_conf	 c;
	char			 err[256];

	assert_int_equal(parse("vectors qdrant\nembedder type openai\n"
	    "qdrant outage keyword\nqdrant ca /etc/q.pem\n", &c, err,
	    sizeof(err)), 0);
	assert_string_equal(c.vectors, "qdrant");
	assert_string_equal(c.embedder, "openai");
	assert_string_equal(c.qdrant_outage, "keyword");
	assert_string_equal(c.qdrant_ca, "/etc/q.pem");
	roundtrip(&c);
	expect_error("vectors pgvector\n", NAME ":1: vectors: 'pgvector' is "
	    "not one of postgres|qdrant");
	expect_error("embedder type open\n", NAME ":1: embedder type: 'open' "
	    "is not one of builtin|openai");
	expect_error("qdrant outage \"\"\n", NAME ":1: qdrant outage: '' is "
	    "not one of error|keyword");
}

static void
test_print_error(void **state)
{
	struct ballast_conf	 c;
	FILE			*f;

	/* /dev/full fails every write: the error must be reported */
	if ((f = fopen("/dev/full", "w")) == NULL)
		skip();
	conf_defaults(&c);
	assert_int_equal(conf_print(f, &c), -1);
	fclose(f);
}

static void
test_file_errors(void **state)
{
	struct ballast_conf	 c, before;
	char			 path[PATH_MAX + 32], err[PATH_MAX + 128];
	char			 want[sizeof(err)];
	FILE			*f;

	memset(&c, 0x5a, sizeof(c));
	memcpy(&before, &c, sizeof(c));

	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	assert_int_equal(conf_parse_file(path, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);

	assert_int_equal(conf_parse_file(tmpdir, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: not a regular file", tmpdir);
	assert_string_equal(err, want);

	/* a FIFO must be refused, not block */
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(conf_parse_file(path, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: not a regular file", path);
	assert_string_equal(err, want);

	snprintf(path, sizeof(path), "%s/big.conf", tmpdir);
	assert_non_null(f = fopen(path, "w"));
	for (int i = 0; i <= CONF_MAX_SIZE / 8; i++)
		fputs("# 45678\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(conf_parse_file(path, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: file too large (more than "
	    "1048576 bytes)", path);
	assert_string_equal(err, want);

	/* errors inside a file carry its path and the line */
	snprintf(path, sizeof(path), "%s/ok.conf", tmpdir);
	assert_non_null(f = fopen(path, "w"));
	fputs("timeout ipc 7\n\nbogus\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(conf_parse_file(path, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: unknown keyword 'bogus'", path);
	assert_string_equal(err, want);
	assert_memory_equal(&before, &c, sizeof(c));

	assert_non_null(f = fopen(path, "w"));
	fputs("timeout ipc 7\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(conf_parse_file(path, &c, err, sizeof(err)), 0);
	assert_int_equal(c.ipc_timeout, 7);
}

/* A small or absent error buffer must not be overrun. */
static void
test_small_errbuf(void **state)
{
	struct ballast_conf	 c;
	char			 err[8];

	memset(err, 'z', sizeof(err));
	assert_int_equal(conf_parse_text("a-long-file-name", "x\n", 2, &c,
	    err, 5), -1);
	assert_string_equal(err, "a-lo");
	assert_int_equal(err[5], 'z');
	assert_int_equal(conf_parse_text("f", "x\n", 2, &c, NULL, 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_and_comments),
		cmocka_unit_test(test_all_settings),
		cmocka_unit_test(test_sizes_and_ranges),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_long_lines_and_strings),
		cmocka_unit_test(test_oversize_text),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_print_defaults),
		cmocka_unit_test(test_access_log),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_roundtrip_odd),
		cmocka_unit_test(test_mcp_origins),
		cmocka_unit_test(test_sync_roots),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_print_error),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_small_errbuf),
	};

	return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
