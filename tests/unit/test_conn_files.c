/*
 * The "files" connector (fetcher/conn_files.c) on a real temporary tree
 * with an in-memory sink, and the fetcher process (fetcher/fetcher.c)
 * itself, started from $BUILD/fetcher with a socketpair as its fd 3,
 * the way indexd talks to it.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/ipc.h"
#include "common/util.h"
#include "fetcher/connector.h"

#define MAXDOCS	32

struct got_doc {
	char	*id, *title, *url, *text, *meta, *updated;
};

struct memsink {
	struct fetch_sink	 sink;
	struct got_doc		 docs[MAXDOCS];
	size_t			 ndocs;
	char			*keeps[MAXDOCS];
	size_t			 nkeeps;
};

static char	 root[64];	/* the tree: /tmp/conn-files.XXXXXX */
static char	 outside[64];	/* a directory links point to */

static int
mem_doc(struct fetch_sink *sk, const struct fetch_doc *d)
{
	struct memsink	*m = sk->arg;
	struct got_doc	*g;

	if (m->ndocs == MAXDOCS)
		return -1;
	g = &m->docs[m->ndocs++];
	g->id = strdup(d->external_id);
	g->title = strdup(d->title ? d->title : "");
	g->url = strdup(d->url ? d->url : "");
	g->text = strndup(d->text, d->text_len);
	g->meta = strdup(d->metadata ? d->metadata : "{}");
	g->updated = strdup(d->updated_at ? d->updated_at : "");
	return 0;
}

static int
mem_keep(struct fetch_sink *sk, const char *id)
{
	struct memsink	*m = sk->arg;

	if (m->nkeeps == MAXDOCS)
		return -1;
	m->keeps[m->nkeeps++] = strdup(id);
	return 0;
}

static void
mem_init(struct memsink *m)
{
	memset(m, 0, sizeof(*m));
	m->sink.doc = mem_doc;
	m->sink.keep = mem_keep;
	m->sink.arg = m;
}

static void
mem_free(struct memsink *m)
{
	for (size_t i = 0; i < m->ndocs; i++) {
		free(m->docs[i].id);
		free(m->docs[i].title);
		free(m->docs[i].url);
		free(m->docs[i].text);
		free(m->docs[i].meta);
		free(m->docs[i].updated);
	}
	for (size_t i = 0; i < m->nkeeps; i++)
		free(m->keeps[i]);
}

static const struct got_doc *
mem_find(const struct memsink *m, const char *id)
{
	for (size_t i = 0; i < m->ndocs; i++)
		if (strcmp(m->docs[i].id, id) == 0)
			return &m->docs[i];
	return NULL;
}

static int
mem_kept(const struct memsink *m, const char *id)
{
	for (size_t i = 0; i < m->nkeeps; i++)
		if (strcmp(m->keeps[i], id) == 0)
			return 1;
	return 0;
}

static void
put(const char *rel, const char *content)
{
	char	 path[PATH_MAX];
	size_t	 len = strlen(content);
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd != -1);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	close(fd);
}

static void
putdir(const char *rel)
{
	char	 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void
rm_tree(const char *dir)
{
	pid_t	 pid;
	int	 st;

	/* no system(): rm -rf on exactly the directory we made */
	if ((pid = fork()) == 0) {
		execl("/bin/rm", "rm", "-rf", dir, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
}

static int
setup_tree(void **state)
{
	char	 path[PATH_MAX + 32];
	int	 fd;

	strlcpy(root, "/tmp/conn-files.XXXXXX", sizeof(root));
	strlcpy(outside, "/tmp/conn-files-out.XXXXXX", sizeof(outside));
	if (mkdtemp(root) == NULL || mkdtemp(outside) == NULL)
		return -1;
	/* the fetcher test may run as nobody */
	chmod(root, 0755);
	chmod(outside, 0755);
	putdir("docs");
	putdir("docs/sub");
	putdir(".hdir");
	put("docs/a.md", "# Alpha Title\n\nalpha body\n");
	put("b.txt", "bravo text\n");
	put("docs/sub/c.html", "<html><head><title>Charlie &amp; Co"
	    "</title><script>hidden()</script></head><body><p>charlie body"
	    "</p></body></html>");
	put("D.TXT", "delta\n");
	put(".hidden.txt", "hidden\n");
	put(".hdir/x.txt", "hidden dir\n");
	put("e.pdf", "echo\n");
	put("bad.txt", "not \xff utf-8\n");
	snprintf(path, sizeof(path), "%s/secret.txt", outside);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd == -1 || write(fd, "SECRET\n", 7) != 7)
		return -1;
	close(fd);
	snprintf(path, sizeof(path), "%s/link.txt", root);
	if (symlink("/tmp/../etc/hostname", path) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/outlink", root);
	if (symlink(outside, path) == -1)
		return -1;
	return 0;
}

static int
teardown_tree(void **state)
{
	rm_tree(root);
	rm_tree(outside);
	return 0;
}

static json_t *
config_for(const char *dir)
{
	return json_pack("{s:s}", "path", dir);
}

static int
run_files(json_t *config, const char *cursor, struct memsink *m,
    struct fetch_result *res)
{
	struct fetch_job	 job;
	char			 err[FETCH_ERR_MAX];
	int			 rc;

	assert_int_equal(conn_files.check(config, err, sizeof(err)), 0);
	memset(&job, 0, sizeof(job));
	job.type = "files";
	job.config = config;
	job.cursor = cursor;
	memset(res, 0, sizeof(*res));
	mem_init(m);
	rc = conn_files.run(&job, &m->sink, res);
	json_decref(config);
	return rc;
}

static void
test_first_run(void **state)
{
	struct memsink		 m;
	struct fetch_result	 res;
	const struct got_doc	*d;
	char			 url[PATH_MAX + 16];
	json_t			*meta;
	const char		*errstr;

	assert_int_equal(run_files(config_for(root), "", &m, &res), 0);
	assert_int_equal(m.ndocs, 4);
	assert_int_equal(m.nkeeps, 0);
	assert_int_equal(res.complete, 1);
	assert_true(strtonum(res.cursor, 1, LLONG_MAX, &errstr) > 0);
	assert_null(errstr);

	assert_non_null(d = mem_find(&m, "docs/a.md"));
	assert_string_equal(d->title, "Alpha Title");
	assert_non_null(strstr(d->text, "alpha body"));
	snprintf(url, sizeof(url), "file://%s/docs/a.md", root);
	assert_string_equal(d->url, url);
	assert_int_equal(strlen(d->updated), 20);	/* ...T..:..:..Z */
	assert_non_null(meta = json_loads(d->meta, 0, NULL));
	assert_string_equal(json_string_value(json_object_get(meta, "path")),
	    "docs/a.md");
	assert_int_equal(json_integer_value(json_object_get(meta, "size")),
	    26);
	assert_string_equal(json_string_value(json_object_get(meta, "mtime")),
	    d->updated);
	json_decref(meta);

	assert_non_null(d = mem_find(&m, "b.txt"));
	assert_string_equal(d->title, "b.txt");
	assert_string_equal(d->text, "bravo text\n");

	assert_non_null(d = mem_find(&m, "docs/sub/c.html"));
	assert_string_equal(d->title, "Charlie & Co");
	assert_string_equal(d->text, "charlie body");

	/* extensions match whatever the case */
	assert_non_null(mem_find(&m, "D.TXT"));
	/* hidden, other extensions, not UTF-8, links: never */
	assert_null(mem_find(&m, ".hidden.txt"));
	assert_null(mem_find(&m, ".hdir/x.txt"));
	assert_null(mem_find(&m, "e.pdf"));
	assert_null(mem_find(&m, "bad.txt"));
	assert_null(mem_find(&m, "link.txt"));
	assert_null(mem_find(&m, "outlink/secret.txt"));
	for (size_t i = 0; i < m.ndocs; i++)
		assert_null(strstr(m.docs[i].text, "SECRET"));
	mem_free(&m);
}

static void
test_cursor(void **state)
{
	struct memsink		 m;
	struct fetch_result	 res;
	struct timespec		 pause = { 0, 60 * 1000 * 1000 };
	char			 cursor[FETCH_MAX_CURSOR], path[PATH_MAX + 8];

	/* later than the rest by more than a clock tick: it is the cursor */
	nanosleep(&pause, NULL);
	put("late.txt", "late\n");
	assert_int_equal(run_files(config_for(root), "", &m, &res), 0);
	assert_int_equal(m.ndocs, 5);
	strlcpy(cursor, res.cursor, sizeof(cursor));
	mem_free(&m);

	nanosleep(&pause, NULL);
	snprintf(path, sizeof(path), "%s/b.txt", root);
	assert_int_equal(utimensat(AT_FDCWD, path, NULL, 0), 0);
	put("new.md", "# New\n");
	assert_int_equal(run_files(config_for(root), cursor, &m, &res), 0);
	/* touched, new, and the one at the cursor itself: sent */
	assert_non_null(mem_find(&m, "b.txt"));
	assert_non_null(mem_find(&m, "new.md"));
	assert_non_null(mem_find(&m, "late.txt"));
	assert_int_equal(m.ndocs, 3);
	/*
	 * unchanged: kept.  bad.txt too: whether a file is UTF-8 is only
	 * known by reading it, which is what the cursor spares; indexd has
	 * no document of that id, so the keep changes nothing.
	 */
	assert_true(mem_kept(&m, "docs/a.md"));
	assert_true(mem_kept(&m, "docs/sub/c.html"));
	assert_true(mem_kept(&m, "D.TXT"));
	assert_true(mem_kept(&m, "bad.txt"));
	assert_int_equal(m.nkeeps, 4);
	assert_int_equal(res.complete, 1);
	assert_true(strcmp(res.cursor, cursor) > 0 ||
	    strlen(res.cursor) > strlen(cursor));
	mem_free(&m);

	/* a cursor that is not a number: everything is sent again */
	assert_int_equal(run_files(config_for(root), "junk", &m, &res), 0);
	assert_int_equal(m.ndocs, 6);
	assert_int_equal(m.nkeeps, 0);
	mem_free(&m);
}

static void
test_options(void **state)
{
	struct memsink		 m;
	struct fetch_result	 res;

	assert_int_equal(run_files(json_pack("{s:s,s:[s]}", "path", root,
	    "extensions", ".pdf"), "", &m, &res), 0);
	assert_int_equal(m.ndocs, 1);
	assert_string_equal(m.docs[0].id, "e.pdf");
	assert_string_equal(m.docs[0].text, "echo\n");
	mem_free(&m);

	/* b.txt (11 bytes) and a.md (26) are over 10 bytes */
	assert_int_equal(run_files(json_pack("{s:s,s:i}", "path", root,
	    "max_file_size", 10), "", &m, &res), 0);
	assert_null(mem_find(&m, "b.txt"));
	assert_null(mem_find(&m, "docs/a.md"));
	assert_non_null(mem_find(&m, "D.TXT"));
	mem_free(&m);
}

static void
test_errors(void **state)
{
	struct memsink		 m;
	struct fetch_result	 res;
	char			 path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/missing", root);
	assert_int_equal(run_files(config_for(path), "", &m, &res), -1);
	assert_non_null(strstr(res.error, path));
	mem_free(&m);

	/* the root itself may not be a link either */
	snprintf(path, sizeof(path), "%s/outlink", root);
	assert_int_equal(run_files(config_for(path), "", &m, &res), -1);
	assert_non_null(strstr(res.error, "symbolic link"));
	assert_int_equal(m.ndocs, 0);
	mem_free(&m);

	/* a sink that refuses stops the run with its reason */
	snprintf(path, sizeof(path), "%s/docs", root);
	mem_init(&m);
	m.ndocs = MAXDOCS;
	{
		struct fetch_job	 job;
		json_t			*c = config_for(path);

		memset(&job, 0, sizeof(job));
		job.config = c;
		job.cursor = "";
		memset(&res, 0, sizeof(res));
		strlcpy(m.sink.sink_error, "refused", sizeof(m.sink.sink_error));
		assert_int_equal(conn_files.run(&job, &m.sink, &res), -1);
		assert_non_null(strstr(res.error, "refused"));
		json_decref(c);
	}
}

static void
expect_refused(const char *json, const char *prefix)
{
	json_t	*c = json_loads(json, 0, NULL);
	char	 err[FETCH_ERR_MAX] = "";

	assert_non_null(c);
	assert_int_equal(conn_files.check(c, err, sizeof(err)), -1);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("%s: \"%s\" does not start with \"%s\"", json, err,
		    prefix);
	json_decref(c);
}

static void
expect_accepted(const char *json)
{
	json_t	*c = json_loads(json, 0, NULL);
	char	 err[FETCH_ERR_MAX] = "";

	assert_non_null(c);
	if (conn_files.check(c, err, sizeof(err)) != 0)
		fail_msg("%s: refused: %s", json, err);
	json_decref(c);
}

static void
test_check(void **state)
{
	struct fetch_sandbox	 sb;
	char			 err[FETCH_ERR_MAX];
	json_t			*c;

	expect_accepted("{\"path\":\"/srv/docs\"}");
	expect_accepted("{\"path\":\"/\"}");
	expect_accepted("{\"path\":\"/srv/a.b/..c\",\"extensions\":[\".md\","
	    "\".rst\"],\"max_file_size\":1}");
	expect_refused("{}", "config.path:");
	expect_refused("{\"path\":1}", "config.path:");
	expect_refused("{\"path\":\"\"}", "config.path:");
	expect_refused("{\"path\":\"docs\"}", "config.path:");
	expect_refused("{\"path\":\"/srv/../etc\"}", "config.path:");
	expect_refused("{\"path\":\"/srv/..\"}", "config.path:");
	expect_refused("{\"path\":\"/srv/./docs\"}", "config.path:");
	expect_refused("{\"path\":\"/srv//docs\"}", "config.path:");
	expect_refused("{\"path\":\"/srv/docs/\"}", "config.path:");
	expect_refused("{\"path\":\"/srv\",\"follow_symlinks\":true}",
	    "config.follow_symlinks:");
	expect_refused("{\"path\":\"/srv\",\"extensions\":\".md\"}",
	    "config.extensions:");
	expect_refused("{\"path\":\"/srv\",\"extensions\":[]}",
	    "config.extensions:");
	expect_refused("{\"path\":\"/srv\",\"extensions\":[1]}",
	    "config.extensions[0]:");
	expect_refused("{\"path\":\"/srv\",\"extensions\":[\".md\",\"md\"]}",
	    "config.extensions[1]:");
	expect_refused("{\"path\":\"/srv\",\"extensions\":[\".a/b\"]}",
	    "config.extensions[0]:");
	expect_refused("{\"path\":\"/srv\",\"max_file_size\":0}",
	    "config.max_file_size:");
	expect_refused("{\"path\":\"/srv\",\"max_file_size\":4194305}",
	    "config.max_file_size:");
	expect_refused("{\"path\":\"/srv\",\"max_file_size\":\"1\"}",
	    "config.max_file_size:");
	expect_refused("[]", "config:");

	c = json_pack("{s:s}", "path", "/srv/docs");
	assert_int_equal(conn_files.sandbox(c, &sb, err, sizeof(err)), 0);
	assert_string_equal(sb.promises, "rpath");
	assert_int_equal(sb.npaths, 1);
	assert_string_equal(sb.paths[0], "/srv/docs");
	json_decref(c);
}

/*
 * The fetcher process.  $BUILD/fetcher is started with one end of a
 * socketpair as fd 3 (as nobody when we are root: it refuses root), the
 * test plays indexd.
 */
struct proc_result {
	char	 ids[MAXDOCS][600];
	size_t	 ndocs, nkeeps;
	int	 sent, done, complete, error, transient, status;
	char	 message[1024];
};

static pid_t
fetcher_start(int *fdp, int as_root)
{
	const char	*build = getenv("BUILD");
	char		 bin[PATH_MAX];
	int		 sv[2];
	pid_t		 pid;

	if (build == NULL)
		return -1;
	snprintf(bin, sizeof(bin), "%s/fetcher", build);
	if (access(bin, X_OK) == -1)
		return -1;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if ((pid = fork()) == 0) {
		if (dup2(sv[1], 3) == -1)
			_exit(126);
		if (sv[0] != 3)
			close(sv[0]);
		if (sv[1] != 3)
			close(sv[1]);
		if (getuid() == 0 && !as_root && (setgroups(0, NULL) == -1 ||
		    setgid(65534) == -1 || setuid(65534) == -1))
			_exit(125);
		execl(bin, "fetcher", "-d", (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	close(sv[1]);
	*fdp = sv[0];
	return pid;
}

static void
fetcher_talk(int fd, pid_t pid, const char *type, const char *config,
    struct proc_result *r)
{
	struct imsg_fetch_start	 st;
	struct ipc_msg		 msg;
	uint8_t			 cred[] = "\"not-needed\"";

	memset(r, 0, sizeof(*r));
	memset(&st, 0, sizeof(st));
	st.job = "job-1";
	st.type = (char *)type;
	st.config = (char *)config;
	st.credential.data = cred;
	st.credential.len = sizeof(cred) - 1;
	st.cursor = "";
	/* a fetcher that refused to start is gone before it reads this */
	r->sent = ipc_send_blocking(fd, PROC_INDEXD, PROC_FETCHER,
	    IMSG_FETCH_START, 1, &st, -1) == 0;
	while (r->sent) {
		memset(&msg, 0, sizeof(msg));
		msg.fd = -1;
		if (ipc_recv_blocking(fd, PROC_INDEXD, PROC_FETCHER, &msg) == -1)
			break;
		if (msg.type == IMSG_FETCH_DOC && r->ndocs < MAXDOCS)
			strlcpy(r->ids[r->ndocs++], ((struct imsg_fetch_doc *)
			    msg.body)->external_id, sizeof(r->ids[0]));
		else if (msg.type == IMSG_FETCH_KEEP)
			r->nkeeps += ((struct imsg_fetch_keep *)
			    msg.body)->ids.n;
		else if (msg.type == IMSG_FETCH_DONE) {
			r->done = 1;
			r->complete = ((struct imsg_fetch_done *)
			    msg.body)->complete;
		} else if (msg.type == IMSG_FETCH_ERROR) {
			r->error = 1;
			r->transient = ((struct imsg_fetch_error *)
			    msg.body)->transient;
			strlcpy(r->message, ((struct imsg_fetch_error *)
			    msg.body)->message, sizeof(r->message));
		}
		ipc_msg_clear(&msg);
	}
	close(fd);
	assert_int_equal(waitpid(pid, &r->status, 0), pid);
}

static void
test_fetcher_process(void **state)
{
	struct proc_result	 r;
	char			 config[PATH_MAX + 32];
	int			 fd, found;
	pid_t			 pid;

	if ((pid = fetcher_start(&fd, 0)) == -1)
		skip();		/* no $BUILD/fetcher */
	snprintf(config, sizeof(config), "{\"path\":\"%s\"}", root);
	fetcher_talk(fd, pid, "files", config, &r);
	assert_true(r.sent);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_true(r.done);
	assert_false(r.error);
	assert_true(r.complete);
	assert_int_equal(r.ndocs, 4);
	for (size_t i = 0; i < r.ndocs; i++) {
		found = strcmp(r.ids[i], "docs/a.md") == 0 ||
		    strcmp(r.ids[i], "b.txt") == 0 ||
		    strcmp(r.ids[i], "docs/sub/c.html") == 0 ||
		    strcmp(r.ids[i], "D.TXT") == 0;
		assert_true(found);
	}

	/* a bad config ends in IMSG_FETCH_ERROR naming the member */
	assert_true((pid = fetcher_start(&fd, 0)) != -1);
	fetcher_talk(fd, pid, "files", "{\"path\":\"rel\"}", &r);
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_true(r.error);
	assert_false(r.transient);
	assert_true(strncmp(r.message, "config.path:", 12) == 0);

	/* an unknown type, likewise */
	assert_true((pid = fetcher_start(&fd, 0)) != -1);
	fetcher_talk(fd, pid, "nope", "{}", &r);
	assert_true(r.error);
	assert_non_null(strstr(r.message, "nope"));

	/* the root the run cannot read: an error naming the path */
	assert_true((pid = fetcher_start(&fd, 0)) != -1);
	fetcher_talk(fd, pid, "files", "{\"path\":\"/nonexistent-ballast\"}",
	    &r);
	assert_true(r.error);
	assert_non_null(strstr(r.message, "/nonexistent-ballast"));
}

static void
test_fetcher_refuses_root(void **state)
{
	struct proc_result	 r;
	int			 fd;
	pid_t			 pid;

	if (getuid() != 0)
		skip();
	if ((pid = fetcher_start(&fd, 1)) == -1)
		skip();
	fetcher_talk(fd, pid, "files", "{\"path\":\"/\"}", &r);
	assert_true(WIFEXITED(r.status));
	assert_int_not_equal(WEXITSTATUS(r.status), 0);
	assert_false(r.done);
	assert_false(r.error);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_run, setup_tree,
		    teardown_tree),
		cmocka_unit_test_setup_teardown(test_cursor, setup_tree,
		    teardown_tree),
		cmocka_unit_test_setup_teardown(test_options, setup_tree,
		    teardown_tree),
		cmocka_unit_test_setup_teardown(test_errors, setup_tree,
		    teardown_tree),
		cmocka_unit_test(test_check),
		cmocka_unit_test_setup_teardown(test_fetcher_process,
		    setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_fetcher_refuses_root,
		    setup_tree, teardown_tree),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
