package gorecipe_test

import (
	"flag"
	"fmt"

	"github.com/crossllb/crossllb/examples/internal/gorecipe"
)

func Example() {
	fs := flag.NewFlagSet("tool", flag.ContinueOnError)
	f := gorecipe.Register(fs)
	if err := fs.Parse([]string{"--context", "../../gobuild/testdata/hello"}); err != nil {
		fmt.Println(err)
		return
	}
	r, err := f.Recipe()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.ModulePath, r.BinaryPath())
	// Output: example.com/hello /usr/local/bin/hello
}
