/* A 32-bit i386 program without the C runtime files (the host has no
   i386 multilib): its own _start calls into the stub libc. Never run. */
int puts(const char *s);
int __libc_start_main(void);

void _start(void) {
	__libc_start_main();
	puts("hello");
}
