package platforms_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/crossllb/crossllb/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func FuzzParse(f *testing.F) {
	for _, tt := range goodSpecs {
		f.Add(tt.in)
	}
	for _, tt := range unsupportedSpecs {
		f.Add(tt.in)
	}
	for _, tt := range malformedSpecs {
		f.Add(tt.in)
	}
	supported := platforms.Supported()
	f.Fuzz(func(t *testing.T, s string) {
		p, err := platforms.Parse(s)
		if err != nil {
			if !reflect.DeepEqual(p, ocispec.Platform{}) {
				t.Errorf("Parse(%q) = %+v with error %v, want the zero platform", s, p, err)
			}
			return
		}
		if !slices.ContainsFunc(supported, func(q ocispec.Platform) bool { return reflect.DeepEqual(p, q) }) {
			t.Fatalf("Parse(%q) = %+v, not in Supported()", s, p)
		}
		id := platforms.Format(p)
		again, err := platforms.Parse(id)
		if err != nil {
			t.Fatalf("Parse(%q) = %s, which does not parse back: %v", s, id, err)
		}
		if !reflect.DeepEqual(again, p) {
			t.Fatalf("Parse(%q) = %+v, Parse(Format) = %+v", s, p, again)
		}
		n, err := platforms.Normalize(p)
		if err != nil || !reflect.DeepEqual(n, p) {
			t.Fatalf("Normalize(Parse(%q)) = %+v, %v; want %+v unchanged", s, n, err, p)
		}
		if _, err := platforms.ToolchainFor(p); err != nil {
			t.Fatalf("ToolchainFor(Parse(%q)): %v", s, err)
		}
	})
}
