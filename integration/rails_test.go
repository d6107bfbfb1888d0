package integration

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/llb"
	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// helloTarget builds the hello program with the given builder platform and
// toolchain choices: the knobs a recipe gets wrong.
func helloTarget(builderFor func(solver.Target) ocispec.Platform, toolchainFor func(solver.Target) ocispec.Platform) solver.TargetFunc {
	return func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		builder, err := llb.ResolveBase(ctx, t.Resolver, "golang:1.26-bookworm", builderFor(t))
		if err != nil {
			return bk.State{}, ocispec.Image{}, err
		}
		tc, err := platforms.ToolchainFor(toolchainFor(t))
		if err != nil {
			return bk.State{}, ocispec.Image{}, err
		}
		// The runtime stage is the target's, whatever the toolchain says.
		tc.Platform = t.Platform
		src := bk.Local("context", bk.LocalUniqueID("crossllb-rails-hello"))
		st := llb.GoImage(src, builder, llb.Scratch(t.Platform), tc, llb.ImageSpec{},
			llb.WithOutputName("hello"), llb.WithCacheNamespace("example.com/hello"))
		return st.Runtime, st.Config, nil
	}
}

func helloDir(t *testing.T) string {
	dir, err := filepath.Abs("../examples/gobuild/testdata/hello")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func build(t solver.Target) ocispec.Platform  { return t.BuildPlatform }
func target(t solver.Target) ocispec.Platform { return t.Platform }

// A recipe that compiles for the build platform while claiming arm64 (the
// forgotten GOARCH) is caught before export, and nothing is written.
func TestVerifyCatchesWrongArchitecture(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 10*time.Minute)
	c := connect(t, ctx)
	dest := filepath.Join(t.TempDir(), "wrong.tar")
	_, err := c.Build(ctx, []ocispec.Platform{platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64")},
		helloTarget(build, build),
		solver.WithLocal("context", helloDir(t)),
		solver.WithOutput(solver.OCITar(dest)),
		solver.WithVerify(llb.GoBinaryDir+"/hello"))
	if err == nil {
		t.Fatal("an amd64 binary in the arm64 image was not caught")
	}
	for _, want := range []string{"verifying linux/arm64", "/usr/local/bin/hello", "EM_X86_64", "EM_AARCH64"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	noLeftovers(t, filepath.Dir(dest))
}

// The correct recipe passes verification and reports no emulated step.
func TestCrossCompiledRecipeIsVerifiedAndNotEmulated(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 10*time.Minute)
	c := connect(t, ctx)
	targets, err := platforms.ParseList("linux/amd64,linux/arm64,linux/arm/v7")
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Build(ctx, targets, helloTarget(build, target),
		solver.WithLocal("context", helloDir(t)),
		solver.WithEmulation(solver.EmulationForbid),
		solver.WithVerify(llb.GoBinaryDir+"/hello"))
	if err != nil {
		t.Fatalf("the cross-compiled recipe under EmulationForbid: %v", err)
	}
	if len(res.Emulated) != 0 {
		t.Errorf("emulated steps in a cross-compiled recipe: %v", res.Emulated)
	}
	want := map[string]string{
		"linux/amd64":  "EM_X86_64 ELFCLASS64 little-endian",
		"linux/arm64":  "EM_AARCH64 ELFCLASS64 little-endian",
		"linux/arm/v7": "EM_ARM ELFCLASS32 little-endian",
	}
	if len(res.Verified) != len(want) {
		t.Fatalf("verified %v, want one binary per target", res.Verified)
	}
	for _, v := range res.Verified {
		if got := v.Found; got != want[platforms.Format(v.Platform)] {
			t.Errorf("%s: found %q, want %q", platforms.Format(v.Platform), got, want[platforms.Format(v.Platform)])
		}
	}
}

// A recipe whose compile stage is pinned to the target would compile under
// QEMU: it is reported, and EmulationForbid refuses it before solving.
func TestEmulationGuardForbidsEmulatedCompile(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 5*time.Minute)
	c := connect(t, ctx)
	start := time.Now()
	_, err := c.Build(ctx, []ocispec.Platform{platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64")},
		helloTarget(target, target),
		solver.WithLocal("context", helloDir(t)),
		solver.WithEmulation(solver.EmulationForbid))
	if err == nil {
		t.Fatal("a compile stage pinned to linux/arm64 passed EmulationForbid")
	}
	for _, want := range []string{"policy is forbid", "go build", "on linux/arm64", "go mod download", "(image linux/arm64)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "(image linux/amd64)") {
		t.Errorf("the native amd64 target was reported as emulated: %v", err)
	}
	// Refused before solving: no compile under QEMU took place.
	if d := time.Since(start); d > 2*time.Minute {
		t.Errorf("the refusal took %v: it should come before any step runs", d)
	}
}

// A runtime step for a platform the daemon has no emulator for is refused
// before solving, with what to do, instead of "exec format error".
func TestUnrunnablePlatformIsReportedBeforeSolving(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 5*time.Minute)
	c := connect(t, ctx)
	fn := func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		builder, err := llb.ResolveBase(ctx, t.Resolver, "golang:1.26-bookworm", t.BuildPlatform)
		if err != nil {
			return bk.State{}, ocispec.Image{}, err
		}
		tc, err := platforms.ToolchainFor(t.Platform)
		if err != nil {
			return bk.State{}, ocispec.Image{}, err
		}
		st := llb.GoImage(bk.Local("context", bk.LocalUniqueID("crossllb-rails-hello")), builder, llb.Scratch(t.Platform), tc,
			llb.ImageSpec{}, llb.WithOutputName("hello"), llb.WithRunOnArtifacts("/usr/local/bin/hello"))
		return st.Runtime, st.Config, nil
	}
	_, err := c.Build(ctx, []ocispec.Platform{platforms.MustParse("linux/mips64le")}, fn, solver.WithLocal("context", helloDir(t)))
	if err == nil || !strings.Contains(err.Error(), "cannot run linux/mips64le steps") || !strings.Contains(err.Error(), "binfmt_misc") {
		t.Fatalf("a mips64le runtime step without an emulator: %v", err)
	}
}
