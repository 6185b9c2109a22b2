#ifndef BALLAST_INDEXD_H
#define BALLAST_INDEXD_H

__attribute__((noreturn)) void	indexd_main(int argc, char **argv);

#endif
