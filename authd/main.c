/* authd: see authd(8). */
#include "authd/authd.h"

int
main(int argc, char *argv[])
{
	authd_main(argc, argv);
}
