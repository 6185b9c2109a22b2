#ifndef BALLAST_KEYD_H
#define BALLAST_KEYD_H

struct child;
struct keyring;

__attribute__((noreturn)) void	keyd_main(int argc, char **argv);

/*
 * Install keyd's dispatch functions and keyring on a child (keyd_main does
 * this; the channel-policy test does it on a bare struct child).  keyd
 * owns the keyring from here on.
 */
void	keyd_attach(struct child *, struct keyring *);

#endif
