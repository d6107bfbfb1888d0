package llb

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	cplatforms "github.com/containerd/platforms"
	"github.com/distribution/reference"
	bk "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
)

// Base is a base image resolved for one platform.
type Base struct {
	// Ref is the image reference as given ("golang:1.26-bookworm").
	// "" or "scratch" means the empty image.
	Ref string
	// Digest is the digest Ref resolved to (the index digest for a
	// multi-platform image, the manifest digest otherwise). When set, the
	// graph pins Ref@Digest so every op of a build sees the same image.
	Digest digest.Digest
	// Platform is the platform this base is used for: the build platform
	// for a builder image, a target platform for a runtime image.
	Platform ocispec.Platform
	// Config is the image config as resolved (zero for scratch).
	Config ocispec.Image
}

// Scratch returns the empty base image for p.
func Scratch(p ocispec.Platform) Base {
	return Base{Ref: "scratch", Platform: p}
}

// IsScratch reports whether b is the empty image.
func (b Base) IsScratch() bool {
	return b.Ref == "" || b.Ref == "scratch"
}

// ResolveBase resolves ref for p through r: a BuildKit gateway client
// implements [bk.ImageMetaResolver], and
// sourceresolver.NewImageMetaResolver adapts any
// sourceresolver.MetaResolver. It is the only function of the package that
// does I/O. "scratch" (or "") returns [Scratch](p) without calling r.
//
// The resolved config must be for p's OS and architecture: an image that
// only exists for another platform is an error here rather than a confusing
// failure deep in the solve.
func ResolveBase(ctx context.Context, r bk.ImageMetaResolver, ref string, p ocispec.Platform) (Base, error) {
	if ref == "" || ref == "scratch" {
		return Scratch(p), nil
	}
	plat := formatPlatform(p)
	if err := checkPlatform(fmt.Sprintf("base image %q", ref), p); err != nil {
		return Base{}, err
	}
	if r == nil {
		return Base{}, fmt.Errorf("resolving base image %q for %s: no image resolver given", ref, plat)
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return Base{}, fmt.Errorf("base image %q: invalid reference (want e.g. debian:bookworm-slim or registry.example.com/team/app:v1): %w", ref, err)
	}
	// The resolver wants the full name: docker.io/library/golang:1.26-bookworm.
	full := reference.TagNameOnly(named).String()
	_, dgst, dt, err := r.ResolveImageConfig(ctx, full, sourceresolver.Opt{
		LogName: fmt.Sprintf("[%s] load metadata for %s", plat, ref),
		ImageOpt: &sourceresolver.ResolveImageOpt{
			Platform:    &p,
			ResolveMode: pb.AttrImageResolveModeDefault,
		},
	})
	if err != nil {
		// containerd's "no match for platform in manifest" reaches us with
		// code NotFound, the code a missing image or tag has too: only the
		// message tells the two apart, and only the first gets the list of
		// the platforms the image has.
		if strings.Contains(err.Error(), "no match for platform") {
			return Base{}, missingPlatform(ctx, r, ref, full, p, err)
		}
		return Base{}, fmt.Errorf("resolving base image %q for %s: %w", ref, plat, err)
	}
	var img ocispec.Image
	if err := json.Unmarshal(dt, &img); err != nil {
		return Base{}, fmt.Errorf("resolving base image %q for %s: parsing image config: %w", ref, plat, err)
	}
	if img.OS != "" && img.Architecture != "" {
		got := cplatforms.Normalize(img.Platform)
		want := cplatforms.Normalize(p)
		if got.OS != want.OS || got.Architecture != want.Architecture {
			return Base{}, fmt.Errorf("resolving base image %q for %s: the image is for %s, not %s",
				ref, plat, formatPlatform(img.Platform), plat)
		}
	}
	return Base{Ref: full, Digest: dgst, Platform: p, Config: img}, nil
}

// imageRef is the reference the graph uses: Ref pinned to Digest when
// Digest is set and Ref does not already carry a digest.
func (b Base) imageRef() string {
	if b.Digest == "" || strings.Contains(b.Ref, "@") {
		return b.Ref
	}
	return b.Ref + "@" + b.Digest.String()
}

// State returns the base as an LLB state on b.Platform: the image (pinned
// to Digest when set) with its config's Env, WorkingDir and User applied,
// so Run steps on it see what they would see in a Dockerfile stage; or an
// empty state for scratch.
func (b Base) State() bk.State {
	if b.IsScratch() {
		return bk.Scratch().Platform(b.Platform)
	}
	if err := checkPlatform(fmt.Sprintf("base image %q", b.Ref), b.Platform); err != nil {
		return failed(err)
	}
	st := bk.Image(b.imageRef(),
		bk.Platform(b.Platform),
		bk.WithCustomNamef("base image %s (%s)", b.Ref, formatPlatform(b.Platform)),
	)
	cfg := b.Config.Config
	for _, kv := range cfg.Env {
		k, v, _ := strings.Cut(kv, "=")
		if k != "" {
			st = st.AddEnv(k, v)
		}
	}
	if cfg.WorkingDir != "" {
		st = st.Dir(cfg.WorkingDir)
	}
	if cfg.User != "" {
		st = st.User(cfg.User)
	}
	return st.Platform(b.Platform)
}

// missingPlatform builds the error for an image that has no manifest for
// p, listing the supported platforms it does have (probed through r, which
// happens only on this error path).
func missingPlatform(ctx context.Context, r bk.ImageMetaResolver, ref, full string, p ocispec.Platform, cause error) error {
	var have []string
	for _, sp := range platforms.Supported() {
		if platforms.Equal(sp, p) {
			continue
		}
		_, _, dt, err := r.ResolveImageConfig(ctx, full, sourceresolver.Opt{
			ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &sp, ResolveMode: pb.AttrImageResolveModeDefault},
		})
		if err != nil {
			continue
		}
		var img ocispec.Image
		if json.Unmarshal(dt, &img) != nil {
			continue
		}
		got := cplatforms.Normalize(img.Platform)
		if got.OS == sp.OS && got.Architecture == sp.Architecture && (sp.Variant == "" || got.Variant == sp.Variant) {
			have = append(have, formatPlatform(sp))
		}
	}
	list := "none of the supported platforms"
	if len(have) > 0 {
		list = strings.Join(have, ", ")
	}
	return fmt.Errorf("base image %q has no image for %s (it has %s): choose a base image that has it, or drop %s from the targets: %w",
		ref, formatPlatform(p), list, formatPlatform(p), cause)
}
