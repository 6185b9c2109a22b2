#include "fetcher/fetcher.h"

int
main(int argc, char *argv[])
{
	fetcher_main(argc, argv);
}
