package buildflags_test

import (
	"flag"
	"fmt"
	"io"

	"github.com/crossllb/crossllb/examples/internal/buildflags"
	"github.com/crossllb/crossllb/platforms"
)

func Example() {
	fs := flag.NewFlagSet("tool", flag.ContinueOnError)
	c := buildflags.Register(fs, "linux/amd64")
	err := fs.Parse([]string{
		"--platform", "linux/arm64/v8,linux/arm",
		"--output", "type=image,name=127.0.0.1:5000/app:v1,push=true",
		"--annotation", "index:org.opencontainers.image.version=1.0",
		"--source-date-epoch", "1700000000",
		"--attest", "type=provenance,mode=min",
	})
	if err == nil {
		err = c.Parse()
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range c.Targets {
		fmt.Println(platforms.Format(p))
	}
	fmt.Println(c.Outputs[0], c.IndexAnnotations, c.Created().Unix(), c.Provenance, len(c.Options(io.Discard)))
	// Output:
	// linux/arm64
	// linux/arm/v7
	// type=image,name=127.0.0.1:5000/app:v1,push=true map[org.opencontainers.image.version:1.0] 1700000000 min 9
}
