package llb

import (
	"maps"
	"testing"
	"time"
)

func TestOCIAnnotationsMap(t *testing.T) {
	if m := (OCIAnnotations{}).Map(); len(m) != 0 {
		t.Errorf("empty annotations give %v", m)
	}
	created := time.Date(2025, 6, 7, 10, 9, 8, 123, time.FixedZone("CEST", 2*3600))
	got := OCIAnnotations{
		Created:       &created,
		Authors:       "Jane <jane@example.com>",
		URL:           "https://example.com/app",
		Documentation: "https://example.com/app/docs",
		Source:        "https://github.com/example/app",
		Version:       "1.2.3",
		Revision:      "0123abcd",
		Title:         "app",
		Description:   "An app",
		Licenses:      "Apache-2.0",
		Vendor:        "Example",
	}.Map()
	want := map[string]string{
		"org.opencontainers.image.created":       "2025-06-07T08:09:08Z",
		"org.opencontainers.image.authors":       "Jane <jane@example.com>",
		"org.opencontainers.image.url":           "https://example.com/app",
		"org.opencontainers.image.documentation": "https://example.com/app/docs",
		"org.opencontainers.image.source":        "https://github.com/example/app",
		"org.opencontainers.image.version":       "1.2.3",
		"org.opencontainers.image.revision":      "0123abcd",
		"org.opencontainers.image.title":         "app",
		"org.opencontainers.image.description":   "An app",
		"org.opencontainers.image.licenses":      "Apache-2.0",
		"org.opencontainers.image.vendor":        "Example",
	}
	if !maps.Equal(got, want) {
		t.Errorf("Map() = %v\nwant %v", got, want)
	}
	if got := (OCIAnnotations{Version: "2"}).Map(); !maps.Equal(got, map[string]string{"org.opencontainers.image.version": "2"}) {
		t.Errorf("only Version set: %v", got)
	}
}
