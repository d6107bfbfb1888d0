package llb

import (
	"fmt"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
)

// BenchmarkGoImageMarshal measures the library's own overhead: building and
// marshalling the Go preset's graph (compile on the build platform, runtime
// stage per target) for 1, 4 and 16 targets, as a solver does per build.
// The design target is under 5 ms for 16 targets.
func BenchmarkGoImageMarshal(b *testing.B) {
	var linux []ocispec.Platform
	for _, p := range platforms.Supported() {
		if p.OS == "linux" {
			linux = append(linux, p)
		}
	}
	for _, n := range []int{1, 4, 16} {
		targets := make([]ocispec.Platform, n)
		for i := range targets {
			targets[i] = linux[i%len(linux)]
		}
		b.Run(fmt.Sprintf("targets=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			ctx := b.Context()
			builder := testBuilder()
			for b.Loop() {
				for _, p := range targets {
					tc, err := platforms.ToolchainFor(p)
					if err != nil {
						b.Fatal(err)
					}
					st := GoImage(testSource(), builder, testRuntime(p), tc, ImageSpec{}, WithPackage("./cmd/app"))
					if _, err := st.Runtime.Marshal(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
