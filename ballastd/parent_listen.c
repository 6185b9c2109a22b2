/* The parent binds the sockets: the HTTPS listener and the control socket. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ballastd/parent.h"
#include "common/log.h"
#include "common/util.h"

int
listen_tcp(const char *addr, uint16_t port)
{
	struct addrinfo	 hints, *res;
	char		 portstr[8];
	int		 fd, on = 1, error;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (strcmp(addr, "localhost") != 0)
		hints.ai_flags |= AI_NUMERICHOST;
	snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
	if ((error = getaddrinfo(addr, portstr, &hints, &res)) != 0) {
		log_warnx("%s: %s: %s", __func__, addr, gai_strerror(error));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("%s: socket", __func__);
		freeaddrinfo(res);
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 512) == -1) {
		log_warn("%s: listen on %s port %u", __func__, addr,
		    (unsigned)port);
		close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* A stale socket (nobody answers) is replaced; a live one is an error. */
static int
control_in_use(const struct sockaddr_un *sun)
{
	int	 fd, inuse;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	inuse = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return inuse;
}

int
listen_control(const char *path)
{
	struct sockaddr_un	 sun;
	mode_t			 old;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		log_warnx("%s: %s: path too long", __func__, path);
		return -1;
	}
	if (control_in_use(&sun)) {
		log_warnx("%s: %s: another ballastd is running", __func__,
		    path);
		return -1;
	}
	(void)unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("%s: socket", __func__);
		return -1;
	}
	/* Root-only from the first instant: no window with a wider mode. */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		log_warn("%s: bind %s", __func__, path);
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(path, 0600) == -1 || listen(fd, 16) == -1) {
		log_warn("%s: %s", __func__, path);
		close(fd);
		return -1;
	}
	return fd;
}
