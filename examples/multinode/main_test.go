package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/crossllb/crossllb/examples/internal/buildflags"
)

// Bad input fails before any daemon is contacted, as a usage error that
// names the input.
func TestBadFlagsAreUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--addr: give every node"},
		{[]string{"--addr", "unix:///a.sock", "--addr", ""}, "--addr 2 is empty"},
		{[]string{"--addr", "unix:///a.sock", "--node-retries", "-1"}, "--node-retries -1"},
		{[]string{"--addr", "unix:///a.sock", "--tlscert", "c.pem"}, "--tlscert and --tlskey go together"},
		{[]string{"--addr", "unix:///a.sock", "--platform", "linux/foo"}, "--platform"},
	} {
		err := run(context.Background(), tc.args, io.Discard, io.Discard)
		var usage buildflags.UsageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v, want a usage error containing %q", tc.args, err, tc.want)
		}
	}
}

// The gobuild example takes one --addr and says where to go for more.
func TestSeveralAddrsAreAFleetOnly(t *testing.T) {
	var stderr bytes.Buffer
	fs := newFlagSetForTest(&stderr)
	c := buildflags.Register(fs, "linux/amd64")
	if err := fs.Parse([]string{"--addr", "unix:///a", "--addr", "unix:///b"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Parse(); err == nil || !strings.Contains(err.Error(), "examples/multinode") {
		t.Errorf("two --addr without Fleet: %v", err)
	}
}

// The Kubernetes manifests parse, and their buildkitd image is the BuildKit
// version this module is built against.
func TestKubernetesManifests(t *testing.T) {
	want := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/moby/buildkit" {
				want = "moby/buildkit:" + d.Version
			}
		}
	}
	if want == "" {
		t.Fatal("the test binary's build info does not list github.com/moby/buildkit")
	}
	files, err := filepath.Glob("k8s/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in k8s/: %v", err)
	}
	kinds := map[string]int{}
	images := 0
	for _, f := range files {
		dt, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(dt))
		for {
			var doc struct {
				APIVersion string `yaml:"apiVersion"`
				Kind       string `yaml:"kind"`
				Metadata   struct{ Name, Namespace string }
				Spec       struct {
					Template struct {
						Spec struct {
							Containers []struct{ Image string }
						}
					}
				}
			}
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if doc.APIVersion == "" || doc.Kind == "" || doc.Metadata.Name == "" {
				t.Errorf("%s: a document without apiVersion, kind or name: %+v", f, doc)
			}
			kinds[doc.Kind]++
			for _, c := range doc.Spec.Template.Spec.Containers {
				if strings.HasPrefix(c.Image, "moby/buildkit:") {
					images++
					if c.Image != want {
						t.Errorf("%s: %s runs %s, want %s", f, doc.Metadata.Name, c.Image, want)
					}
				}
			}
		}
	}
	if kinds["StatefulSet"] != 2 || kinds["Service"] != 1 || images != 2 {
		t.Errorf("kinds %v, %d buildkitd containers; want two StatefulSets (amd64, arm64) and a headless Service", kinds, images)
	}
}

func newFlagSetForTest(w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(w)
	return fs
}
