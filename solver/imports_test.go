package solver_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection pins the module's layering, transitively:
// platforms <- llb <- llb/recipe <- examples, solver never imports llb,
// and llb never imports solver.
func TestDependencyDirection(t *testing.T) {
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	for _, tc := range []struct{ pkg, forbidden string }{
		{"github.com/crossllb/crossllb/solver", "github.com/crossllb/crossllb/llb"},
		{"github.com/crossllb/crossllb/llb", "github.com/crossllb/crossllb/solver"},
		// llb/recipe is where graphs and builds meet: nothing below it
		// imports it.
		{"github.com/crossllb/crossllb/llb", "github.com/crossllb/crossllb/llb/recipe"},
		{"github.com/crossllb/crossllb/solver", "github.com/crossllb/crossllb/llb/recipe"},
		{"github.com/crossllb/crossllb/platforms", "github.com/crossllb/crossllb/llb"},
		{"github.com/crossllb/crossllb/platforms", "github.com/crossllb/crossllb/solver"},
	} {
		ds := deps(tc.pkg)
		if len(ds) < 2 {
			t.Fatalf("go list -deps %s listed %v", tc.pkg, ds)
		}
		for _, d := range ds {
			if d == tc.forbidden {
				t.Errorf("%s depends on %s", tc.pkg, tc.forbidden)
			}
		}
	}
}
