package llb

import (
	"fmt"

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
)

// GoBinaryDir is where [GoImage] puts the binary, whatever the runtime
// base (scratch included): /usr/local/bin/<name>, on the default PATH
// (see [GoBinaryPath] for windows).
const GoBinaryDir = "/usr/local/bin"

// Stages is the graph and config of one target's image.
type Stages struct {
	// Compile holds the binary at its root; its ops run on the build
	// platform.
	Compile bk.State
	// Runtime is the image filesystem; its exec ops run on the target.
	Runtime bk.State
	// Config is the image config for the target.
	Config ocispec.Image
}

// GoImage builds one target's image of a Go program: [GoCompile] on
// builder (the build platform) for tc's target with the [GoOption]s of
// opts; [RuntimeStage](runtime, ...) with the [RuntimeOption]s' steps run
// on the base first, then the binary copied in
// at [GoBinaryPath] with mode 0755, owned by 0:0, then any
// [WithRunOnArtifacts] steps; and [ImageConfig](runtime, spec) with the
// entrypoint set to that path unless spec sets one.
//
// A windows target needs a Windows runtime base (BuildKit then writes the
// layers in Windows layout, under Files/): on scratch, Runtime fails at
// Marshal. Its binary is named <name>.exe and its entrypoint is the path
// on C: ("C:\usr\local\bin\app.exe").
//
// runtime.Platform must be tc.Platform: a mismatch, an invalid spec (see
// [ImageSpec.Validate]) or an invalid option makes Runtime fail at Marshal
// with an error naming the target.
func GoImage(src bk.State, builder, runtime Base, tc platforms.Toolchain, spec ImageSpec, opts ...ImageOption) Stages {
	split := splitImageOptions(opts)
	goOpts, rtOpts := split.goOpts, split.rtOpts
	compile := GoCompile(src, builder, tc, goOpts...)
	name, nameErr := GoBinaryName(goOpts...)
	if err := split.foreign("GoImage"); err != nil {
		nameErr = err
	}
	if spec.Entrypoint == nil {
		spec.Entrypoint = GoEntrypoint(tc.Platform, name)
	}
	return binaryImage(compile, runtime, tc, spec, "/"+name, GoBinaryPath(tc.Platform, name), nameErr, rtOpts)
}

// binaryImage is the image of GoImage and CargoImage: compile's binary at
// path is copied to dest on the runtime stage, which fails with optErr (an
// option error found while building the compile stage), or when runtime
// is not for tc's platform, or spec is not valid.
func binaryImage(compile bk.State, runtime Base, tc platforms.Toolchain, spec ImageSpec, path, dest string, optErr error, rtOpts []RuntimeOption) Stages {
	target := formatPlatform(tc.Platform)
	st := Stages{Compile: compile, Config: ImageConfig(runtime, spec)}
	switch {
	case optErr != nil:
		st.Runtime = failed(fmt.Errorf("image for %s: %w", target, optErr))
	case !platforms.Equal(runtime.Platform, tc.Platform):
		st.Runtime = failed(fmt.Errorf("image for %s: runtime base image %q is for %s, but the toolchain targets %s",
			target, runtime.Ref, formatPlatform(runtime.Platform), target))
	default:
		if err := spec.Validate(); err != nil {
			st.Runtime = failed(fmt.Errorf("image for %s: %w", target, err))
			break
		}
		st.Runtime = RuntimeStage(runtime, []Artifact{{From: compile, Path: path, Dest: dest, Mode: 0o755}}, rtOpts...)
	}
	return st
}
