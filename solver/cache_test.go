package solver

import (
	"strings"
	"testing"
)

func TestParseCache(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		in     string
		export bool
		want   Cache
	}{
		{"type=registry,ref=127.0.0.1:5000/cache:app", false, Cache{Kind: CacheRegistry, Ref: "127.0.0.1:5000/cache:app"}},
		{"type=registry,ref=r.example.com/c:x,mode=max,registry.insecure=true", true, Cache{Kind: CacheRegistry, Ref: "r.example.com/c:x", Max: true, Insecure: true}},
		{"type=local,src=" + dir, false, Cache{Kind: CacheLocal, Dir: dir}},
		{"type=local,dest=" + dir + "/cache,mode=max", true, Cache{Kind: CacheLocal, Dir: dir + "/cache", Max: true}},
	} {
		got, err := ParseCache(tc.in, tc.export)
		if err != nil || got != tc.want {
			t.Errorf("ParseCache(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		e := cacheEntry(got, tc.export)
		if e.Type != string(got.Kind) || (tc.export && e.Attrs["mode"] == "") {
			t.Errorf("cacheEntry(%+v) = %+v", got, e)
		}
	}
	for _, tc := range []struct {
		in     string
		export bool
		want   string
	}{
		{"type=gha", false, `unknown type "gha"`},
		{"ref=x", false, "missing type"},
		{"type=registry", false, "missing ref"},
		{"type=registry,ref=a/UPPER", false, "invalid ref"},
		{"type=local,src=/no/such", false, "is not a directory"},
		{"type=local,dest=/no/such/x", true, "does not exist"},
		{"type=local,src=" + dir + ",mode=max", false, "--cache-to only"},
		{"type=registry,ref=a/b,mode=fast", true, `mode="fast"`},
		{"type=registry,ref=a/b,color=red", true, `unknown key "color"`},
		{"type=registry,ref=a/b,registry.insecure=yes please", false, "is not true or false"},
		{"type=registry,ref=a/b,ref=c/d", false, "ref given twice"},
	} {
		if _, err := ParseCache(tc.in, tc.export); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseCache(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
	if err := WithCacheTo(Cache{})(&buildOptions{}); err == nil || !strings.Contains(err.Error(), "unknown kind") {
		t.Errorf("WithCacheTo(Cache{}) = %v", err)
	}
	if attrs := frontendAttrs([]string{"linux/amd64", "linux/arm64"}, "max"); attrs["platform"] != "linux/amd64,linux/arm64" || attrs["attest:provenance"] != "mode=max" {
		t.Errorf("frontendAttrs = %v", attrs)
	}
}
