#ifndef BALLAST_KEYD_H
#define BALLAST_KEYD_H

__attribute__((noreturn)) void	keyd_main(int argc, char **argv);

#endif
