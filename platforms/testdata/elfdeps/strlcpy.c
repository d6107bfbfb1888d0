#include <stddef.h>

/* Declared here: the stub libc has no headers. glibc 2.38 added strlcpy. */
size_t strlcpy(char *dst, const char *src, size_t size);
int puts(const char *s);

int main(void) {
	char buf[8];
	strlcpy(buf, "hello, world", sizeof buf);
	puts(buf);
	return 0;
}
