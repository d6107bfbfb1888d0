// Command gobuild builds a multi-platform image of a Go program through
// BuildKit, the fast way: the compile stage runs on the BuildKit worker's
// native platform and cross-compiles for every target; only the runtime
// stage is built per target. One OCI image index comes out.
//
//	go run ./examples/gobuild --context DIR --package ./cmd/app \
//	    --platform linux/amd64,linux/arm64,linux/arm/v7 \
//	    --output type=oci,dest=app.tar
//
// Without --context it builds its own testdata hello program, which prints
// the platform it was compiled for. The build itself is one call of the
// library's recipe.Go (github.com/crossllb/crossllb/llb/recipe); this
// program only turns flags into it (examples/internal/gorecipe and
// buildflags). examples/multinode is the same recipe over several
// buildkitd nodes.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/crossllb/crossllb/examples/internal/buildflags"
	"github.com/crossllb/crossllb/examples/internal/gorecipe"
	"github.com/crossllb/crossllb/llb/recipe"
	"github.com/crossllb/crossllb/solver"
)

func main() { buildflags.Main("gobuild", run) }

type config struct {
	*buildflags.Common
	recipe *recipe.Go
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("gobuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := config{Common: buildflags.Register(fs, "linux/amd64,linux/arm64,linux/arm/v7")}
	rf := gorecipe.Register(fs)
	c.AcceptSecrets(fs, gorecipe.SecretsUse)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: gobuild [flags]\n\nBuild a multi-platform image of a Go program, cross-compiled on the BuildKit worker's platform.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := c.ParseArgs(fs, args); err != nil {
		return nil, err
	}
	if c.HasSecret(gorecipe.NetrcSecretID) {
		rf.NetrcSecret = gorecipe.NetrcSecretID
	}
	var err error
	if c.recipe, err = rf.Recipe(c.Common); err != nil {
		return nil, buildflags.UsageError{Err: err}
	}
	return &c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	cl, err := solver.Connect(ctx, c.Addr, c.ConnectOptions()...)
	if err != nil {
		return err
	}
	defer cl.Close()

	res, err := c.recipe.Build(ctx, cl, c.Options(stderr)...)
	if err != nil {
		return err
	}
	return c.PrintResult(c.SummaryOut(stdout, stderr), res)
}
