/* keyd: see keyd(8). */
#include "keyd/keyd.h"

int
main(int argc, char *argv[])
{
	keyd_main(argc, argv);
}
