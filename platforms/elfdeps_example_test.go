package platforms_test

import (
	"fmt"
	"os"
	"slices"

	"github.com/crossllb/crossllb/platforms"
)

// Check that a binary starts in its image: its interpreter and libraries
// are there, and the image's libc.so.6 defines every glibc version it
// needs. Here the binary calls strlcpy, new in glibc 2.38, and the
// image's libc is a stub that defines versions up to GLIBC_2.39.
func ExampleReadELFDeps() {
	if err := checkStarts("testdata/elfdeps/strlcpy", "testdata/elfdeps/libc-stub.so.6"); err != nil {
		fmt.Println(err)
	}
	// Output:
	// interpreter /lib64/ld-linux-x86-64.so.2, needs [libc.so.6], static: false
	// needs glibc 2.38, the image has glibc 2.39
	// GLIBC_2.38 GLIBC_2.34 GLIBC_2.2.5 are all defined
}

func checkStarts(bin, imageLibc string) error {
	f, err := os.Open(bin)
	if err != nil {
		return err
	}
	defer f.Close()
	deps, err := platforms.ReadELFDeps(f)
	if err != nil {
		return fmt.Errorf("%s: %w", bin, err)
	}
	fmt.Printf("interpreter %s, needs %v, static: %v\n", deps.Interpreter, deps.Needed, deps.Static())

	libc, err := os.Open(imageLibc)
	if err != nil {
		return err
	}
	defer libc.Close()
	have, err := platforms.ReadGlibcVersions(libc)
	if err != nil {
		return fmt.Errorf("%s: %w", imageLibc, err)
	}
	need, _ := deps.GlibcNeeded()
	fmt.Printf("needs glibc %s, the image has glibc %s\n", need, platforms.MaxGlibcVersion(have))
	for _, name := range deps.VersionNeeds["libc.so.6"] {
		v, err := platforms.ParseGlibcVersion(name)
		if err != nil {
			continue // GLIBC_PRIVATE and the like are not releases
		}
		if !slices.Contains(have, v) {
			return fmt.Errorf("%s needs %s, which %s does not define", bin, name, imageLibc)
		}
		fmt.Print(name, " ")
	}
	fmt.Println("are all defined")
	return nil
}

func ExampleParseGlibcVersion() {
	for _, name := range []string{"GLIBC_2.2.5", "GLIBC_2.38", "GLIBC_PRIVATE"} {
		v, err := platforms.ParseGlibcVersion(name)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(v, v.Less(platforms.GlibcVersion{Major: 2, Minor: 36}))
	}
	// Output:
	// 2.2.5 true
	// 2.38 false
	// "GLIBC_PRIVATE": not a glibc version name, want GLIBC_<major>.<minor>[.<patch>]
}
