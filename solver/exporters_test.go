package solver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
)

func TestStageTarCommitAndAbort(t *testing.T) {
	epoch := time.Unix(1700000000, 0)
	dir := t.TempDir()
	dest := filepath.Join(dir, "app.tar")
	s, err := stage(OCITar(dest), exportSettings{index: map[string]string{"org.opencontainers.image.title": "app"}, manifest: map[string]string{"k": "v"}, epoch: &epoch}, false)
	if err != nil {
		t.Fatal(err)
	}
	if s.entry.Type != client.ExporterOCI || s.entry.Attrs["tar"] != "true" ||
		s.entry.Attrs["annotation-index.org.opencontainers.image.title"] != "app" || s.entry.Attrs["annotation-manifest.k"] != "v" ||
		s.entry.Attrs["source-date-epoch"] != "1700000000" || s.entry.Attrs["rewrite-timestamp"] != "true" ||
		s.entry.Attrs["compression"] != "gzip" || s.entry.Attrs["compression-level"] != "1" {
		t.Errorf("export entry = %+v", s.entry)
	}
	w, err := s.entry.Output(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("layout")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dest); err == nil {
		t.Fatal("the destination exists before commit")
	}
	if err := s.commit(); err != nil {
		t.Fatal(err)
	}
	if dt, err := os.ReadFile(dest); err != nil || string(dt) != "layout" {
		t.Fatalf("after commit: %q, %v", dt, err)
	}

	failed := filepath.Join(dir, "failed.tar")
	s, err = stage(OCITar(failed), exportSettings{}, false)
	if err != nil {
		t.Fatal(err)
	}
	s.abort()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "app.tar" {
		t.Errorf("after abort the directory holds %v, want only app.tar", entries)
	}
}

func TestStageDirReplacesOldLayout(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "layout")
	if err := os.MkdirAll(filepath.Join(dest, "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dest, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := stage(OCIDir(dest), exportSettings{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if s.entry.OutputDir == "" || s.entry.OutputDir == dest || s.entry.Attrs["tar"] != "false" {
		t.Errorf("export entry = %+v, want a temporary OutputDir", s.entry)
	}
	if err := os.WriteFile(filepath.Join(s.entry.OutputDir, "index.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dest, "index.json")); err != nil {
		t.Errorf("new layout not in place: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dest, "old")); err == nil {
		t.Error("old layout content survived")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %v, want only the layout", entries)
	}
}

func TestStageRegistry(t *testing.T) {
	s, err := stage(Registry("127.0.0.1:5000/app:v1", Insecure()), exportSettings{}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"name": "127.0.0.1:5000/app:v1", "push": "true", "oci-mediatypes": "true", "registry.insecure": "true"}
	for k, v := range want {
		if s.entry.Attrs[k] != v {
			t.Errorf("attr %s = %q, want %q (all: %v)", k, s.entry.Attrs[k], v, s.entry.Attrs)
		}
	}
	if s.entry.Type != client.ExporterImage || strings.Contains(s.entry.OutputDir, "/") {
		t.Errorf("entry = %+v", s.entry)
	}
}

// An OCI directory output never replaces a directory that is not a layout:
// it would be deleted whole.
func TestOCIDirRefusesForeignDirectory(t *testing.T) {
	dir := t.TempDir()
	precious := filepath.Join(dir, "src")
	if err := os.MkdirAll(precious, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(precious, "main.go"), []byte("package main"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := OCIDir(precious).Validate(); err == nil || !strings.Contains(err.Error(), "not an OCI layout and not empty") {
		t.Errorf("Validate on a source directory: %v", err)
	}
	// Validated once, then filled during the build: commit refuses too.
	later := filepath.Join(dir, "later")
	s, err := stage(OCIDir(later), exportSettings{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(later, "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.commit(); err == nil {
		t.Error("commit replaced a directory that appeared during the build")
	}
	s.abort()
	if _, err := os.Stat(filepath.Join(later, "keep")); err != nil {
		t.Errorf("the directory that appeared was touched: %v", err)
	}
	if _, err := os.Stat(filepath.Join(precious, "main.go")); err != nil {
		t.Errorf("the source directory was touched: %v", err)
	}
}

// A bare file name is staged beside it, in the working directory, not in
// $TMPDIR (another filesystem would make the final rename fail).
func TestStageRelativeDestStaysBeside(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	s, err := stage(OCITar("app.tar"), exportSettings{}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.abort()
	if filepath.Dir(s.tmp) != "." {
		t.Errorf("staged at %s, want beside app.tar in the working directory", s.tmp)
	}
}

// Layout exports take the registry exports' name, so that attestation
// subjects (and so the indexes) agree between them.
func TestNameOCIExports(t *testing.T) {
	entries := []client.ExportEntry{
		{Type: client.ExporterOCI, Attrs: map[string]string{}},
		{Type: client.ExporterImage, Attrs: map[string]string{"name": "r/a:1"}},
		{Type: client.ExporterImage, Attrs: map[string]string{"name": "r/b:2"}},
	}
	nameOCIExports(entries)
	if got := entries[0].Attrs["name"]; got != "r/a:1,r/b:2" {
		t.Errorf("OCI export name = %q", got)
	}
	alone := []client.ExportEntry{{Type: client.ExporterOCI, Attrs: map[string]string{}}}
	nameOCIExports(alone)
	if _, ok := alone[0].Attrs["name"]; ok {
		t.Errorf("a layout export alone got a name: %v", alone[0].Attrs)
	}
}

// A fleet part pushes by digest: BuildKit leaves the name untagged.
func TestStageRegistryByDigest(t *testing.T) {
	s, err := stage(Registry("127.0.0.1:5000/app", Insecure()), exportSettings{}, true)
	if err != nil {
		t.Fatal(err)
	}
	if s.entry.Attrs["push-by-digest"] != "true" {
		t.Errorf("attrs %v: want push-by-digest=true", s.entry.Attrs)
	}
}
