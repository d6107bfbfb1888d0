package platforms_test

import (
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestImports pins the package's dependencies: the standard library,
// containerd's platforms and the OCI image spec. In particular platforms
// imports neither llb nor solver.
func TestImports(t *testing.T) {
	allowed := []string{
		"github.com/containerd/platforms",
		"github.com/opencontainers/image-spec/specs-go/v1",
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			std := !strings.Contains(strings.Split(path, "/")[0], ".")
			if !std && !slices.Contains(allowed, path) {
				t.Errorf("%s imports %s; platforms may only import the standard library and %v", name, path, allowed)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no Go files checked")
	}
}
