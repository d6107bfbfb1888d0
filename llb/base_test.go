package llb

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb/sourceresolver"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
)

// fakeResolver serves image configs per platform, as a registry index does.
type fakeResolver struct {
	digest  digest.Digest
	configs map[string]ocispec.Image // by platform, e.g. "linux/arm64"
	calls   []sourceresolver.Opt
	refs    []string
}

func (r *fakeResolver) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	r.calls = append(r.calls, opt)
	r.refs = append(r.refs, ref)
	p := opt.ImageOpt.Platform
	img, ok := r.configs[platforms.Format(*p)]
	if !ok {
		return "", "", nil, errors.New("no match for platform in manifest: not found")
	}
	dt, err := json.Marshal(img)
	return ref, r.digest, dt, err
}

func TestResolveBase(t *testing.T) {
	arm64 := platforms.MustParse("linux/arm64")
	r := &fakeResolver{
		digest: debianDigest,
		configs: map[string]ocispec.Image{
			"linux/arm64": {Platform: ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, Config: ocispec.ImageConfig{Cmd: []string{"bash"}}},
		},
	}
	b, err := ResolveBase(t.Context(), r, "debian:bookworm-slim", arm64)
	if err != nil {
		t.Fatal(err)
	}
	if b.Ref != "docker.io/library/debian:bookworm-slim" || b.Digest != debianDigest || !platforms.Equal(b.Platform, arm64) || !slices.Equal(b.Config.Config.Cmd, []string{"bash"}) {
		t.Errorf("ResolveBase = %+v", b)
	}
	if len(r.calls) != 1 || r.calls[0].ImageOpt == nil || !platforms.Equal(*r.calls[0].ImageOpt.Platform, arm64) {
		t.Fatalf("resolver calls %+v, want one for linux/arm64", r.calls)
	}
	if r.refs[0] != "docker.io/library/debian:bookworm-slim" {
		t.Errorf("resolver asked for %q, want the normalised name", r.refs[0])
	}
	for _, bad := range []string{"Debian:bookworm", "debian bookworm", "debian@sha256:abc"} {
		if _, err := ResolveBase(t.Context(), r, bad, arm64); err == nil || !strings.Contains(err.Error(), "invalid reference") || !strings.Contains(err.Error(), bad) {
			t.Errorf("ResolveBase(%q) = %v, want an invalid-reference error naming it", bad, err)
		}
	}
	if !strings.Contains(r.calls[0].LogName, "debian:bookworm-slim") {
		t.Errorf("progress name %q does not name the image", r.calls[0].LogName)
	}

	// The image lacks the platform: the error names image and platform,
	// and the platforms the image has.
	_, err = ResolveBase(t.Context(), r, "debian:bookworm-slim", platforms.MustParse("linux/riscv64"))
	if err == nil || !strings.Contains(err.Error(), `base image "debian:bookworm-slim" has no image for linux/riscv64 (it has linux/arm64)`) {
		t.Errorf("error %v", err)
	}

	// A target of another OS: the platforms the image has are listed all
	// the same (it said "none of the supported platforms").
	_, err = ResolveBase(t.Context(), r, "debian:bookworm-slim", platforms.MustParse("windows/amd64"))
	if err == nil || !strings.Contains(err.Error(), `has no image for windows/amd64 (it has linux/arm64)`) {
		t.Errorf("error %v", err)
	}

	// A single-platform image for another architecture.
	r.configs["linux/arm/v7"] = ocispec.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}}
	_, err = ResolveBase(t.Context(), r, "example/amd64-only", platforms.MustParse("linux/arm/v7"))
	if err == nil || !strings.Contains(err.Error(), `"example/amd64-only" for linux/arm/v7: the image is for linux/amd64`) {
		t.Errorf("error %v", err)
	}

	// Garbage config.
	_, err = ResolveBase(t.Context(), badConfigResolver{}, "x", arm64)
	if err == nil || !strings.Contains(err.Error(), `"x" for linux/arm64: parsing image config`) {
		t.Errorf("error %v", err)
	}

	// No resolver.
	if _, err := ResolveBase(t.Context(), nil, "x", arm64); err == nil || !strings.Contains(err.Error(), `"x" for linux/arm64`) {
		t.Errorf("error %v", err)
	}
	// No platform.
	if _, err := ResolveBase(t.Context(), r, "x", ocispec.Platform{}); err == nil || !strings.Contains(err.Error(), "no platform") {
		t.Errorf("error %v", err)
	}
}

type badConfigResolver struct{}

func (badConfigResolver) ResolveImageConfig(context.Context, string, sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	return "x", "", []byte("{not json"), nil
}

func TestResolveBaseScratchDoesNoIO(t *testing.T) {
	p := platforms.MustParse("linux/arm/v7")
	for _, ref := range []string{"scratch", ""} {
		r := &fakeResolver{}
		b, err := ResolveBase(t.Context(), r, ref, p)
		if err != nil || !b.IsScratch() || !platforms.Equal(b.Platform, p) || b.Digest != "" {
			t.Errorf("ResolveBase(%q) = %+v, %v", ref, b, err)
		}
		if len(r.calls) != 0 {
			t.Errorf("ResolveBase(%q) called the resolver", ref)
		}
	}
}

func TestBaseStateAppliesConfig(t *testing.T) {
	b := testRuntime(platforms.MustParse("linux/arm64"))
	b.Config.Config.Env = append(b.Config.Config.Env, "LANG=C.UTF-8", "EMPTY=", "EQ=a=b")
	b.Config.Config.WorkingDir = "/srv"
	b.Config.Config.User = "app"
	g := marshal(t, b.State().Run(llbArgs("true")).Root())
	d, e := g.exec(t, "true")
	for _, kv := range []string{"LANG=C.UTF-8", "EMPTY=", "EQ=a=b", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"} {
		if !slices.Contains(e.Meta.Env, kv) {
			t.Errorf("env %q lacks %s", e.Meta.Env, kv)
		}
	}
	if e.Meta.Cwd != "/srv" || e.Meta.User != "app" {
		t.Errorf("cwd %q user %q, want /srv app", e.Meta.Cwd, e.Meta.User)
	}
	if got := opPlatform(g.ops[d]); got != "linux/arm64" {
		t.Errorf("a Run on the base state runs on %s", got)
	}
	src := g.sources("docker-image://")
	if len(src) != 1 {
		t.Fatalf("%d image sources", len(src))
	}
	if op := g.ops[src[0]]; opPlatform(op) != "linux/arm64" || op.GetSource().Identifier != "docker-image://docker.io/library/debian:bookworm-slim@"+debianDigest.String() {
		t.Errorf("image source %q on %s", op.GetSource().Identifier, opPlatform(op))
	}
}

func TestBaseStateRefs(t *testing.T) {
	p := platforms.MustParse("linux/amd64")
	for _, tt := range []struct {
		base Base
		want string
	}{
		{Base{Ref: "alpine:3.20", Platform: p}, "docker-image://docker.io/library/alpine:3.20"},
		{Base{Ref: "alpine", Platform: p}, "docker-image://docker.io/library/alpine:latest"},
		{Base{Ref: "alpine:3.20", Digest: debianDigest, Platform: p}, "docker-image://docker.io/library/alpine:3.20@" + debianDigest.String()},
		{Base{Ref: "ghcr.io/x/y@" + golangDigest.String(), Digest: golangDigest, Platform: p}, "docker-image://ghcr.io/x/y@" + golangDigest.String()},
	} {
		g := marshal(t, tt.base.State())
		src := g.sources("docker-image://")
		if len(src) != 1 || g.ops[src[0]].GetSource().Identifier != tt.want {
			t.Errorf("%+v: sources %v, want %s", tt.base, src, tt.want)
		}
	}
	// Scratch has no op at all, but keeps its platform for what is built on it.
	s := Scratch(platforms.MustParse("linux/arm/v7")).State()
	got, err := s.GetPlatform(t.Context())
	if err != nil || got == nil || !platforms.Equal(*got, platforms.MustParse("linux/arm/v7")) {
		t.Errorf("scratch state platform %v, %v", got, err)
	}
	if err := marshalErr(t, Base{Ref: "alpine"}.State()); !strings.Contains(err.Error(), `"alpine"`) {
		t.Errorf("error %q", err)
	}
}
