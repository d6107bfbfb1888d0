package llb

import (
	"context"
	"fmt"

	cplatforms "github.com/containerd/platforms"
	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
)

// checkPlatform rejects a platform without OS or architecture: an op built
// with it would fall back to the client host's platform.
func checkPlatform(what string, p ocispec.Platform) error {
	if p.OS == "" || p.Architecture == "" {
		return fmt.Errorf("%s has no platform (OS %q, architecture %q): set Base.Platform, e.g. from ResolveBase or Scratch", what, p.OS, p.Architecture)
	}
	return nil
}

// formatPlatform names p in messages and vertex names ("linux/arm/v7").
func formatPlatform(p ocispec.Platform) string {
	if p.OS == "" && p.Architecture == "" {
		return "<no platform>"
	}
	return platforms.Format(p)
}

// failed returns a state that fails with err when it, or any state built on
// it, is marshalled. Graph builders use it so that they never return an
// error themselves.
func failed(err error) bk.State {
	return bk.Scratch().Async(func(context.Context, bk.State, *bk.Constraints) (bk.State, error) {
		return bk.State{}, err
	})
}

// normalizedArch is p's architecture as containerd normalises it ("x86_64"
// is "amd64").
func normalizedArch(p ocispec.Platform) string {
	return cplatforms.Normalize(p).Architecture
}
