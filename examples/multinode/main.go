// Command multinode is the gobuild recipe over a fleet of buildkitd nodes:
// each target is built on the node that runs it natively when there is
// one, otherwise cross-compiled on the least loaded node, and ONE image
// index comes out, to an OCI tar, an OCI directory or a registry, as from
// a single node.
//
//	go run ./examples/multinode \
//	    --addr unix:///run/buildkit/buildkitd.sock \
//	    --addr tcp://arm64-builder:1234 --tlscacert ca.pem --tlscert cert.pem --tlskey key.pem \
//	    --platform linux/amd64,linux/arm64,linux/arm/v7 \
//	    --output type=oci,dest=app.tar
//
// It prints the plan (which target on which node, native or cross) before
// building. --node-retries N retries a target on another node when its
// node stops answering. Kubernetes fleets: see k8s/ next to this file.
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

func main() { buildflags.Main("multinode", run) }

type config struct {
	*buildflags.Common
	recipe  *recipe.Go
	retries int
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("multinode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := config{Common: buildflags.Register(fs, "linux/amd64,linux/arm64,linux/arm/v7")}
	c.Fleet = true
	rf := gorecipe.Register(fs)
	c.AcceptSecrets(fs, gorecipe.SecretsUse)
	fs.IntVar(&c.retries, "node-retries", 0, "retry a target on another node this many times when its node stops answering")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: multinode --addr ADDR [--addr ADDR...] [flags]\n\nBuild a multi-platform image of a Go program over several buildkitd nodes, into one image index.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := c.ParseArgs(fs, args); err != nil {
		return nil, err
	}
	if len(c.Addrs) == 0 {
		return nil, buildflags.Usagef("--addr: give every node, one --addr each")
	}
	if c.retries < 0 {
		return nil, buildflags.Usagef("--node-retries %d: want 0 or more", c.retries)
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
	fleet, err := solver.ConnectFleet(ctx, c.Addrs, c.ConnectOptions()...)
	if err != nil {
		return err
	}
	defer fleet.Close()

	plan, err := fleet.Plan(ctx, c.Targets)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "plan:\n%s", plan)

	res, err := c.recipe.Build(ctx, fleet, append(c.Options(stderr), solver.WithNodeRetries(c.retries))...)
	if err != nil {
		return err
	}
	for _, a := range res.Plan {
		if len(a.Retried) > 0 {
			fmt.Fprintf(stderr, "retried: %s", solver.Plan{a})
		}
	}
	return c.PrintResult(c.SummaryOut(stdout, stderr), res)
}
