package gorecipe_test

import (
	"flag"
	"fmt"

	"github.com/crossllb/crossllb/examples/internal/buildflags"
	"github.com/crossllb/crossllb/examples/internal/gorecipe"
)

func Example() {
	fs := flag.NewFlagSet("tool", flag.ContinueOnError)
	c := buildflags.Register(fs, "linux/amd64,linux/arm64")
	f := gorecipe.Register(fs)
	if err := c.ParseArgs(fs, []string{"--context", "../../gobuild/testdata/hello"}); err != nil {
		fmt.Println(err)
		return
	}
	g, err := f.Recipe(c)
	if err != nil {
		fmt.Println(err)
		return
	}
	paths, err := g.BinaryPaths()
	fmt.Println(paths, err)
	// Output: [/usr/local/bin/hello] <nil>
}
