package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

func TestParseFlagsScenariosAndWorkloads(t *testing.T) {
	base := []string{"--cache", "/c", "--registry", "127.0.0.1:5000"}
	if c, err := parseFlags(append(base, "--scenarios", "pulled,warm", "--workloads", "go"), io.Discard); err != nil || !slices.Equal(c.scenarios, []string{"pulled", "warm"}) {
		t.Errorf("--scenarios pulled,warm: %v, %v", c, err)
	}
	c, err := parseFlags(append(base, "--scenarios", "emulated", "--workloads", "rust-service"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.scenarios, []string{"emulated"}) || !slices.Equal(c.workloads, []string{"rust-service"}) || len(c.rustColdSizes) != 1 {
		t.Errorf("scenarios %q workloads %q rust sizes %v", c.scenarios, c.workloads, c.rustColdSizes)
	}
	c, err = parseFlags(base, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.scenarios, []string{"cold", "warm", "emulated"}) || !slices.Contains(c.workloads, "rust-service") {
		t.Errorf("defaults: scenarios %q workloads %q", c.scenarios, c.workloads)
	}
	for _, bad := range [][]string{{"--scenarios", "cold,hot"}, {"--workloads", "zig"}} {
		if _, err := parseFlags(append(base, bad...), io.Discard); err == nil || !strings.Contains(err.Error(), bad[1]) {
			t.Errorf("%q: error %v", bad, err)
		}
	}
	// --redraw needs neither the cache nor the registry.
	if _, err := parseFlags([]string{"--redraw", "--cache", "", "--registry", ""}, io.Discard); err != nil {
		t.Errorf("--redraw: %v", err)
	}
}
