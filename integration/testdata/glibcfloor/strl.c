/* strlcpy is in glibc since 2.38: the binary needs GLIBC_2.38. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
	char buf[8];
	strlcpy(buf, argc > 1 ? argv[1] : "strlcpy", sizeof buf);
	puts(buf);
	return 0;
}
