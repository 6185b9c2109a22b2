/*
 * The front process: ballastd -P front.
 *
 * Peers: the parent (config, channels, reload, ping), and keyd, authd,
 * indexd, whose replies go to the pending table (front_pending.c).
 *
 * front_main(): as root, read the configuration and fds from the parent,
 * build the TLS context from the certificate and key fds, then chroot,
 * drop to the front's user, sandbox, and serve.
 *
 * Connection limit: at max_connections the listener stops accepting and
 * the kernel's backlog holds newcomers until a slot frees; answering them
 * 503 would need a TLS handshake each (CPU and an fd apiece, under the
 * client's control), which is exactly what the limit is there to bound.
 *
 * Per address: at most max_conns_per_addr connections from one client
 * address; one more is closed as soon as it is accepted, before any TLS
 * work, so slow or idle connections from one address (slowloris, a
 * connect flood) cannot take every slot from everyone else.  The counts
 * live in a small chained hash table, an entry per address with a
 * connection open.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "ballastd/front.h"
#include "ballastd/front_metrics.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "common/util.h"

/* Descriptors beside connections: parent, peers, listener, libevent, log. */
#define FRONT_FD_RESERVE	32
#define FRONT_EMFILE_PAUSE	1	/* seconds */

#define ADDR_BUCKETS		4096

struct addr_count {
	struct addr_count	*next;
	uint64_t		 n;
	char			 addr[64];
};

static struct front	 front_state;
struct front		*front = &front_state;
static struct event	*front_resume_ev;
static struct addr_count *addr_table[ADDR_BUCKETS];

/* FNV-1a: the key is an address the kernel gave us, not attacker text. */
static struct addr_count **
addr_slot(const char *addr)
{
	struct addr_count	**pp;
	uint32_t		  h = 2166136261u;

	for (const char *s = addr; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	for (pp = &addr_table[h % ADDR_BUCKETS]; *pp != NULL;
	    pp = &(*pp)->next)
		if (strcmp((*pp)->addr, addr) == 0)
			break;
	return pp;
}

/* Counts one more connection from addr; -1 when it is over the cap. */
static int
addr_take(const char *addr)
{
	struct addr_count	**pp = addr_slot(addr);

	if (*pp == NULL) {
		*pp = xcalloc(1, sizeof(**pp));
		strlcpy((*pp)->addr, addr, sizeof((*pp)->addr));
	} else if ((*pp)->n >= front->c->conf.max_conns_per_addr)
		return -1;
	(*pp)->n++;
	return 0;
}

static void
addr_release(const char *addr)
{
	struct addr_count	**pp = addr_slot(addr), *e;

	if ((e = *pp) == NULL)
		return;
	if (--e->n == 0) {
		*pp = e->next;
		free(e);
	}
}

static void
front_listen_update(void)
{
	int	 full = front->nconns >= front->c->conf.max_connections;

	if (front->listener == NULL || full == front->paused)
		return;
	if (full) {
		evconnlistener_disable(front->listener);
		log_info("%s: %llu connections, not accepting", __func__,
		    (unsigned long long)front->nconns);
	} else {
		evconnlistener_enable(front->listener);
		log_info("%s: accepting again", __func__);
	}
	front->paused = full;
}

/*
 * What a crowd of connections left behind goes back to the system once
 * it has gone: each TLS connection holds ~16 KB of small allocations
 * that glibc keeps in the heap after they are freed (issue 12: 1,000
 * idle connections, then closed, left the front 16 MB bigger).  When the
 * count has fallen to half of its peak (and by 32 at least), the heap is
 * trimmed a second later, once the rest of the crowd has closed too and
 * its free chunks have merged into whole pages: one walk of the heap per
 * wave, not one per close.
 */
static uint64_t		 trim_peak;

static void
front_trim_now(evutil_socket_t fd, short ev, void *arg)
{
	(void)malloc_trim(0);
	trim_peak = front->nconns;
}

static void
front_trim(void)
{
	static struct event	*ev;
	struct timeval		 tv = { 1, 0 };

	if (front->nconns > trim_peak)
		trim_peak = front->nconns;
	if (front->nconns > trim_peak / 2 || trim_peak - front->nconns < 32)
		return;
	if (ev == NULL && (ev = evtimer_new(front->c->base, front_trim_now,
	    NULL)) == NULL)
		return;
	if (!evtimer_pending(ev, NULL))
		evtimer_add(ev, &tv);
}

void
front_conn_closed(const char *client)
{
	addr_release(client);
	front->nconns--;
	front_listen_update();
	front_trim();
}

static void
front_client_name(const struct sockaddr *sa, char *buf, size_t len)
{
	const void	*addr = NULL;

	if (sa->sa_family == AF_INET)
		addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		addr = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (addr == NULL || inet_ntop(sa->sa_family, addr, buf,
	    (socklen_t)len) == NULL)
		strlcpy(buf, "-", len);
}

static void
front_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	char	 client[64];

	front_client_name(sa, client, sizeof(client));
	if (addr_take(client) == -1) {
		log_debug("%s: %s: at limit connections-per-address, closed",
		    __func__, client);
		close(fd);
		return;
	}
	front->nconns++;
	front_conn_accept(fd, client);
	front_listen_update();
	front_trim();
}

static void
front_resume(evutil_socket_t fd, short ev, void *arg)
{
	if (!front->paused)
		evconnlistener_enable(front->listener);
}

/* Out of descriptors (or another accept error): wait a moment. */
static void
front_accept_error(struct evconnlistener *lev, void *arg)
{
	struct timeval	 tv = { FRONT_EMFILE_PAUSE, 0 };
	int		 e = EVUTIL_SOCKET_ERROR();

	if (e == ECONNABORTED || e == EINTR)
		return;
	log_warnx("%s: accept: %s; pausing", __func__, strerror(e));
	evconnlistener_disable(lev);
	evtimer_add(front_resume_ev, &tv);
}

/* Make room for max_connections descriptors, or say we cannot. */
static void
front_fd_limit(const struct ballast_conf *conf)
{
	struct rlimit	 rl;
	rlim_t		 want = (rlim_t)conf->max_connections + FRONT_FD_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("%s: getrlimit", __func__);
	if (rl.rlim_cur < want && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("%s: setrlimit", __func__);
	}
	if (rl.rlim_cur < want)
		log_warnx("%s: max connections %llu but only %llu descriptors",
		    __func__, (unsigned long long)conf->max_connections,
		    (unsigned long long)rl.rlim_cur);
}

static void
front_peer_change(struct child *c, enum proc_id peer, int up)
{
	log_debug("%s: %s %s", __func__, proc_name(peer), up ? "up" : "down");
	if (!up)
		front_pending_peer_down(peer);
}

/*
 * New limits apply to new connections; existing ones keep theirs.  The
 * TLS files and the access log come as fds after the new configuration
 * (front_fd_received).
 */
static void
front_reload(struct child *c, const struct ballast_conf *old)
{
	if (strcmp(old->listen_addr, c->conf.listen_addr) != 0 ||
	    old->listen_port != c->conf.listen_port)
		log_warnx("%s: the listen address changes only on restart",
		    __func__);
	if (old->max_connections != c->conf.max_connections)
		front_fd_limit(&c->conf);
	/* no access log any more: lines go to the daemon's log again */
	if (c->conf.access_log[0] == '\0')
		front_access_log_fd(-1);
	front_listen_update();
}

/*
 * A new certificate and key (reload).  They come as two messages; the
 * context is rebuilt once both are here.  New connections take the new
 * context; an open one holds a reference to the context it started with,
 * so freeing ours is safe.  A broken pair keeps the running context.
 */
static void
front_tls_reload(struct child *c)
{
	SSL_CTX	*ctx;

	if (c->conf.tls_client_ca[0] != '\0' && c->fd_tls_client_ca == -1) {
		log_warnx("%s: no client CA bundle came; keeping the running "
		    "TLS context", __func__);
		close(c->fd_tls_cert);
		close(c->fd_tls_key);
		c->fd_tls_cert = c->fd_tls_key = -1;
		return;
	}
	ctx = front_tls_ctx(c->fd_tls_cert, c->fd_tls_key,
	    c->fd_tls_client_ca);
	c->fd_tls_cert = c->fd_tls_key = c->fd_tls_client_ca = -1;
	if (ctx == NULL) {
		log_warnx("%s: keeping the running TLS certificate", __func__);
		return;
	}
	SSL_CTX_free(front->ssl_ctx);
	front->ssl_ctx = ctx;
	log_info("%s: TLS certificate and key reloaded", __func__);
}

static void
front_fd_received(struct child *c, const char *what, int fd)
{
	int	*slot;

	if (strcmp(what, "access-log") == 0) {
		front_access_log_fd(fd);
		return;
	}
	if (strcmp(what, "tls-cert") == 0)
		slot = &c->fd_tls_cert;
	else if (strcmp(what, "tls-key") == 0)
		slot = &c->fd_tls_key;
	else if (strcmp(what, "tls-client-ca") == 0)
		slot = &c->fd_tls_client_ca;
	else {
		log_warnx("%s: unexpected resource '%s' from parent",
		    __func__, what);
		if (fd != -1)
			close(fd);
		return;
	}
	if (*slot != -1)	/* the other half never came: the newer wins */
		close(*slot);
	*slot = fd;
	if (c->fd_tls_cert != -1 && c->fd_tls_key != -1)
		front_tls_reload(c);
}

static const char *
front_health(struct child *c)
{
	return "ok";
}

void
front_main(int argc, char **argv)
{
	static struct child	 c;
	const char		*chroot_dir;

	child_boot(&c, PROC_FRONT, argc, argv);
	front->c = &c;
	if (c.conf.tls_client_ca[0] != '\0' && c.fd_tls_client_ca == -1)
		fatalx("%s: the parent sent no client CA bundle", __func__);
	front->ssl_ctx = front_tls_ctx(c.fd_tls_cert, c.fd_tls_key,
	    c.fd_tls_client_ca);
	c.fd_tls_cert = c.fd_tls_key = c.fd_tls_client_ca = -1;	/* closed */
	if (front->ssl_ctx == NULL)
		fatalx("%s: cannot load the TLS certificate and key", __func__);
	if (c.fd_listen == -1)
		fatalx("%s: the parent sent no listen socket", __func__);
	if (fd_nonblock(c.fd_listen) == -1)
		fatal("%s: fd_nonblock", __func__);
	front_fd_limit(&c.conf);

	chroot_dir = c.conf.chroot_dir[0] != '\0' ? c.conf.chroot_dir : NULL;
	if (priv_drop(c.conf.user[PROC_FRONT], chroot_dir) == -1)
		fatalx("%s: cannot drop privileges", __func__);
	/*
	 * stdio:  libevent, OpenSSL and our IPC channels on fds we hold
	 *         (sendmsg/recvmsg, getrandom for OpenSSL and arc4random)
	 * inet:   accept4 on the listen socket, setsockopt (TCP_NODELAY)
	 * recvfd: channels to peers arrive from the parent as fds
	 *         (IMSG_CHANNEL), also after a peer restarts; so do the
	 *         TLS files on reload and the access log
	 */
	if (sandbox_pledge("stdio inet recvfd") == -1)
		fatal("%s: sandbox", __func__);

	front->listener = evconnlistener_new(c.base, front_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, c.fd_listen);
	if (front->listener == NULL)
		fatalx("%s: evconnlistener_new", __func__);
	evconnlistener_set_error_cb(front->listener, front_accept_error);
	if ((front_resume_ev = evtimer_new(c.base, front_resume, NULL)) == NULL)
		fatalx("%s: evtimer_new", __func__);

	front_metrics_start(&c);
	front_access_init(c.base);

	c.dispatch[PROC_PARENT] = front_metrics_parent;
	c.dispatch[PROC_KEYD] = front_pending_dispatch;
	c.dispatch[PROC_AUTHD] = front_metrics_peer;
	c.dispatch[PROC_INDEXD] = front_metrics_peer;
	c.peer_change = front_peer_change;
	c.reload = front_reload;
	c.fd_received = front_fd_received;
	c.health = front_health;
	log_info("front: listening, sandbox %s", sandbox_describe());
	child_serve(&c);
}
