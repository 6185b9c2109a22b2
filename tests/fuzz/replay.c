/*
 * Replays saved fuzz inputs through LLVMFuzzerTestOneInput without
 * libFuzzer, so `make check` runs every corpus with the normal compiler.
 * Each argument is a file or a directory of files (not recursive).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_MAX	(4 * 1024 * 1024)	/* bytes per input */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static unsigned long	 nreplayed;

static int
replay_file(const char *path)
{
	FILE	*fp;
	uint8_t	*buf;
	size_t	 len;

	if ((fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(REPLAY_MAX)) == NULL) {
		fclose(fp);
		fprintf(stderr, "replay: out of memory\n");
		return -1;
	}
	len = fread(buf, 1, REPLAY_MAX, fp);
	if (ferror(fp)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		free(buf);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	/* A copy of exactly len bytes, so ASan sees reads past the input. */
	{
		uint8_t	*in = malloc(len ? len : 1);

		if (in == NULL) {
			free(buf);
			return -1;
		}
		memcpy(in, buf, len);
		free(buf);
		(void)LLVMFuzzerTestOneInput(in, len);
		free(in);
	}
	nreplayed++;
	return 0;
}

static int
replay_dir(const char *path)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		 p[4096];
	int		 rv = 0;

	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		int	 n;

		if (de->d_name[0] == '.')
			continue;
		n = snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(p)) {
			fprintf(stderr, "replay: %s: path too long\n", path);
			rv = -1;
			continue;
		}
		if (stat(p, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if (replay_file(p) == -1)
			rv = -1;
	}
	closedir(d);
	return rv;
}

int
main(int argc, char *argv[])
{
	struct stat	 st;
	int		 rv = 0;

	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == -1) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			    strerror(errno));
			rv = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i]) == -1)
				rv = 1;
		} else if (replay_file(argv[i]) == -1)
			rv = 1;
	}
	printf("replayed %lu inputs\n", nreplayed);
	return rv;
}
