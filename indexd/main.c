/* indexd: see indexd(8). */
#include "indexd/indexd.h"

int
main(int argc, char *argv[])
{
	indexd_main(argc, argv);
}
