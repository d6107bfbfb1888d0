/* Built against a new glibc, it still needs only old symbol versions. */
#include <stdio.h>

int main(void) {
	puts("plain");
	return 0;
}
