#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
	printf("%g\n", exp(argc > 1 ? atof(argv[1]) : 1.0));
	return 0;
}
