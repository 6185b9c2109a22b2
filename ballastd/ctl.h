/* ballastctl's commands, one file each (ctl_*.c). */
#ifndef BALLAST_CTL_H
#define BALLAST_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "common/conf.h"

/* The configuration, parsed on first use; exits with a message if bad. */
const struct ballast_conf *ctl_conf(void);
/* Exit status: 0 done, 1 refused or failed, 2 usage. */
int	ctl_key(int argc, char **argv);
int	ctl_db(int argc, char **argv);
int	ctl_user(int argc, char **argv);
int	ctl_init(int argc, char **argv);
/* user disable|reset-password, apikey revoke, audit tail (ctl_admin.c). */
int	ctl_admin(int argc, char **argv);
/* sync run SOURCE (ctl_sync.c). */
int	ctl_sync(int argc, char **argv);
/* reindex [COLLECTION] (ctl_reindex.c). */
int	ctl_reindex(int argc, char **argv);
/*
 * A request the running indexd answers, through the parent: 0 with the
 * answer (malloc'd) or 1, the reason printed unless quiet.
 */
int	ctl_admin_request(const char *op, const char *arg, char **answer,
	    int quiet);
/* The same with a value (a secret: wiped by the caller). */
int	ctl_admin_data(const char *op, const char *arg, const uint8_t *data,
	    size_t datalen, char **answer, int quiet);
/* secret set|unset|list (ctl_secret.c). */
int	ctl_secret(int argc, char **argv);
/* Ask the running parent to reload (new keyring to keyd included). */
int	ctl_reload_quiet(void);
__attribute__((noreturn)) void ctl_usage(void);

#endif
