package solver

import (
	"maps"
	"strings"
	"testing"
)

func TestCompressionAttrs(t *testing.T) {
	three := 3
	for _, tc := range []struct {
		c    Compression
		want map[string]string
	}{
		{Compression{}, map[string]string{"compression": "gzip", "compression-level": "1"}},
		{Compression{Type: "gzip", Level: &three}, map[string]string{"compression": "gzip", "compression-level": "3"}},
		{Compression{Type: "zstd"}, map[string]string{"compression": "zstd"}},
		{Compression{Type: "zstd", Level: &three, Force: true}, map[string]string{"compression": "zstd", "compression-level": "3", "force-compression": "true"}},
		{Compression{Type: "uncompressed"}, map[string]string{"compression": "uncompressed"}},
	} {
		o, err := newBuildOptions([]BuildOption{WithCompression(tc.c)})
		if err != nil {
			t.Fatalf("%+v: %v", tc.c, err)
		}
		got := o.exportSettings().attrs()
		if !maps.Equal(got, tc.want) {
			t.Errorf("%+v: attrs %v, want %v", tc.c, got, tc.want)
		}
	}
	// Without WithCompression: gzip at DefaultGzipLevel.
	o, err := newBuildOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.exportSettings().attrs(); got["compression"] != "gzip" || got["compression-level"] != "1" {
		t.Errorf("default attrs %v, want gzip level 1", got)
	}
}

func TestCompressionRefused(t *testing.T) {
	ten, big, one := 10, 23, 1
	for _, tc := range []struct {
		c    Compression
		want string
	}{
		{Compression{Type: "brotli"}, `compression "brotli": unknown (want gzip, zstd or uncompressed)`},
		{Compression{Level: &ten}, "compression gzip level 10: want 0 to 9"},
		{Compression{Type: "zstd", Level: &big}, "compression zstd level 23: want 0 to 22"},
		{Compression{Type: "uncompressed", Level: &one}, "uncompressed layers have no level"},
	} {
		_, err := newBuildOptions([]BuildOption{WithCompression(tc.c)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.c, err, tc.want)
		}
	}
}
