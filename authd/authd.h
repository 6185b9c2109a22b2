#ifndef BALLAST_AUTHD_H
#define BALLAST_AUTHD_H

__attribute__((noreturn)) void	authd_main(int argc, char **argv);

#endif
