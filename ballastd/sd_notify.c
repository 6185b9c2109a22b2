/*
 * systemd readiness without libsystemd: one datagram to $NOTIFY_SOCKET
 * (sd_notify(3)).  An address starting with '@' is abstract.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ballastd/parent.h"
#include "common/log.h"

int
sd_notify_send(const char *state)
{
	struct sockaddr_un	 sun;
	const char		*path;
	size_t			 len;
	socklen_t		 slen;
	int			 fd, rv = 0;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL || *path == '\0')
		return 0;
	len = strlen(path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sun.sun_path)) {
		log_warnx("%s: unusable NOTIFY_SOCKET", __func__);
		return -1;
	}
	memcpy(sun.sun_path, path, len);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';
	slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, slen) == -1) {
		log_warn("%s: sendto", __func__);
		rv = -1;
	}
	close(fd);
	return rv;
}
