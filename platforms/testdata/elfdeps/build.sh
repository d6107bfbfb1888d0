#!/bin/sh
# Rebuilds the ELF fixtures of elfdeps_test.go with the host toolchain
# (Debian 12 x86_64: gcc 12.2, GNU ld 2.40, glibc 2.36). Run it here:
#   cd platforms/testdata/elfdeps && sh build.sh
set -eu
CC=${CC:-gcc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# hello: a dynamic C program against the host glibc.
$CC -Os -s -o hello hello.c

# math: needs libm.so.6 (exp@GLIBC_2.29) and libc.so.6.
$CC -Os -s -o math math.c -lm

# libc-stub.so.6: a stand-in libc.so.6 (soname libc.so.6) whose version
# definitions are glibc's names up to GLIBC_2.39 (libc.map). The host
# glibc is 2.36, too old to link strlcpy (glibc 2.38).
$CC -Os -s -shared -fPIC -nostdlib -Wl,-soname,libc.so.6 \
	-Wl,--version-script=libc.map -Wl,--hash-style=gnu -o libc-stub.so.6 stubc.c

# strlcpy: the host's crt files and the stub libc; needs GLIBC_2.38
# (strlcpy); the stub defines up to GLIBC_2.39.
mkdir "$tmp/lib"
cp libc-stub.so.6 "$tmp/lib/libc.so.6"
$CC -Os -s -nodefaultlibs -o strlcpy strlcpy.c "$tmp/lib/libc.so.6"

# hello-i386: ELFCLASS32, against a 32-bit stub libc, with its own _start.
$CC -m32 -Os -s -shared -fPIC -nostdlib -Wl,-soname,libc.so.6 \
	-Wl,--version-script=libc-i386.map -o "$tmp/lib/libc32.so.6" stubc.c
$CC -m32 -Os -s -nostdlib -fno-pie -no-pie -Wl,--dynamic-linker=/lib/ld-linux.so.2 \
	-o hello-i386 start32.c "$tmp/lib/libc32.so.6"
