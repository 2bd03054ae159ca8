// SPDX-License-Identifier: MIT
/* hvkvm-img: a thin executable around img_main() for tests and scripts. */
#include "hvkvm/img.h"

#include <string.h>

int main(int argc, char **argv)
{
	char name[] = "img";

	argv[0] = name;
	return img_main(argc, argv);
}
