/*
 * ballastctl secret set NAME | unset NAME | list: the deployment secrets
 * indexd uses (qdrant-api-key, embedder-api-key).  The value is read from
 * standard input (one line, or everything when not a terminal), sent to
 * the running indexd through the parent, sealed by keyd and stored only
 * sealed; it is wiped here as soon as it is sent and never printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ballastd/ctl.h"
#include "common/util.h"

#define SECRET_MAX	4096

static int
secret_name_ok(const char *n)
{
	size_t	 len = strlen(n);

	return len >= 1 && len <= 64 && n[0] >= 'a' && n[0] <= 'z' &&
	    strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789-") == len;
}

/* The value from standard input, without the final line end. */
static int
secret_read(uint8_t *buf, size_t *len)
{
	size_t	 n = 0;
	ssize_t	 r;

	if (isatty(STDIN_FILENO))
		fprintf(stderr, "value: ");
	while (n < SECRET_MAX + 1 && (r = read(STDIN_FILENO, buf + n,
	    SECRET_MAX + 1 - n)) > 0) {
		n += (size_t)r;
		if (isatty(STDIN_FILENO) && memchr(buf, '\n', n) != NULL)
			break;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n == 0 || n > SECRET_MAX || memchr(buf, '\n', n) != NULL ||
	    memchr(buf, '\0', n) != NULL || !utf8_valid((char *)buf, n)) {
		fprintf(stderr, "ballastctl: the value must be one line of 1 "
		    "to %d bytes of UTF-8\n", SECRET_MAX);
		return -1;
	}
	*len = n;
	return 0;
}

int
ctl_secret(int argc, char **argv)
{
	uint8_t	 buf[SECRET_MAX + 1];
	size_t	 len = 0;
	char	*answer;
	int	 rv;

	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		if (ctl_admin_request("secret-list", "", &answer, 0) != 0)
			return 1;
		fputs(answer, stdout);
		free(answer);
		return 0;
	}
	if (argc != 2 || (strcmp(argv[0], "set") != 0 &&
	    strcmp(argv[0], "unset") != 0))
		ctl_usage();
	if (!secret_name_ok(argv[1])) {
		fprintf(stderr, "ballastctl: %s: a secret name is 1 to 64 of "
		    "a-z, 0-9 and '-', starting with a letter\n", argv[1]);
		return 2;
	}
	if (strcmp(argv[0], "unset") == 0)
		rv = ctl_admin_request("secret-unset", argv[1], &answer, 0);
	else {
		if (secret_read(buf, &len) == -1) {
			explicit_bzero(buf, sizeof(buf));
			return 1;
		}
		rv = ctl_admin_data("secret-set", argv[1], buf, len, &answer,
		    0);
		explicit_bzero(buf, sizeof(buf));
	}
	if (rv != 0)
		return 1;
	printf("%s\n", answer);
	free(answer);
	return 0;
}
