/* Prints the architecture it was compiled for, from the compiler's own
 * macros: "hello from C on aarch64". */
#include <stdio.h>

#if defined(__x86_64__)
#define ARCH "x86_64"
#elif defined(__aarch64__)
#define ARCH "aarch64"
#elif defined(__arm__) && defined(__ARM_ARCH_7A__) && defined(__ARM_PCS_VFP)
#define ARCH "armv7 hard-float"
#elif defined(__arm__)
#define ARCH "arm"
#else
#define ARCH "unknown"
#endif

int main(void) {
	printf("hello from C on %s\n", ARCH);
	return 0;
}
