/* A stand-in for glibc's libc.so.6: the symbols the fixtures use, with
   glibc's version names (libc.map). Never run; linked against only. */
typedef __SIZE_TYPE__ size_t;

int puts(const char *s) { (void)s; return 0; }
int __libc_start_main(void) { return 0; }
void __cxa_finalize(void *d) { (void)d; }
size_t strlcpy(char *dst, const char *src, size_t size) { (void)dst; (void)src; return size; }
int pidfd_getpid(int fd) { return fd; } /* GLIBC_2.39 */
