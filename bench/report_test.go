package main

import (
	"math"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median(nil) is not NaN")
	}
}

// Ratios pair each contender with crossllb's build of the same round, and
// the median is taken over rounds; failures and timeouts are kept apart.
func TestSummarizeRatios(t *testing.T) {
	two := []string{"linux/amd64", "linux/arm64"}
	s := func(c string, round int, secs float64) sample {
		return sample{Workload: "go", Scenario: scenarioCold, Targets: two, Contender: c, Round: round, Seconds: secs}
	}
	failed := s(ko, 3, 1)
	failed.Error = "exit status 1"
	samples := []sample{
		s(crossllb, 1, 10), s(dockerfile, 1, 20), s(ko, 1, 5),
		s(crossllb, 2, 20), s(dockerfile, 2, 30), s(ko, 2, 10),
		s(crossllb, 3, 10), s(dockerfile, 3, 40), failed,
		{Workload: "go", Scenario: scenarioEmulated, Targets: two[1:], Contender: crossllb, Round: 1, Seconds: 50},
		{Workload: "go", Scenario: scenarioEmulated, Targets: two[1:], Contender: emulated, Round: 1, Seconds: 600, TimedOut: true, Error: "bound"},
	}
	rows := summarize(samples)
	want := map[string]row{
		crossllb:   {Runs: 3, Median: 10},
		dockerfile: {Runs: 3, Median: 30, Ratio: 2},
		ko:         {Runs: 2, Median: 7.5, Ratio: 0.5, Failed: "exit status 1"},
	}
	for _, rw := range rows[:3] {
		w := want[rw.Contender]
		if rw.Runs != w.Runs || rw.Median != w.Median || rw.Ratio != w.Ratio || rw.Failed != w.Failed {
			t.Errorf("%s: got %+v, want %+v", rw.Contender, rw, w)
		}
	}
	if emu := rows[4]; !emu.AtLeast || emu.Ratio != 12 {
		t.Errorf("emulated: got %+v, want a lower bound of 12x", emu)
	}
	table := buildTable(rows)
	for _, frag := range []string{"| crossllb | dockerfile | ko | emulated |", "| go | cold | amd64, arm64 | 3 | 10.0 s | 30.0 s (2.00x) | 7.50 s (0.50x) | - |", "≥ 600.0 s (≥ 12.00x)"} {
		if !strings.Contains(table, frag) {
			t.Errorf("table lacks %q:\n%s", frag, table)
		}
	}
	cs := checks(rows, nil)
	if len(cs) == 0 || cs[len(cs)-1].Met != "not measured" {
		t.Errorf("checks without overhead: %+v", cs)
	}
}

func TestParseGoBench(t *testing.T) {
	out := []byte("goos: linux\nBenchmarkGoImageMarshal/targets=1-2         \t    5000\t    212345 ns/op\t   98765 B/op\t    1234 allocs/op\n" +
		"BenchmarkGoImageMarshal/targets=16-2 \t 300\t 3456789 ns/op\t 1580000 B/op\t 19744 allocs/op\nPASS\n")
	gs, err := parseGoBench(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 || gs[1] != (graphBench{Targets: 16, NsPerOp: 3456789, BytesPerOp: 1580000, AllocsPerOp: 19744}) {
		t.Errorf("got %+v", gs)
	}
	if _, err := parseGoBench([]byte("FAIL\n")); err == nil {
		t.Error("no error for output without results")
	}
}

// What the bench prints on standard output carries every ratio.
func TestSummaryTextHasRatios(t *testing.T) {
	one := []string{"linux/amd64"}
	r := &report{Samples: []sample{
		{Workload: "go", Scenario: scenarioCold, Targets: one, Contender: crossllb, Round: 1, Seconds: 40},
		{Workload: "go", Scenario: scenarioCold, Targets: one, Contender: ko, Round: 1, Seconds: 30},
		{Workload: "go", Scenario: scenarioCold, Targets: one, Contender: dockerfile, Round: 1, Seconds: 50},
	}}
	r.summarize()
	out := r.summaryText()
	for _, frag := range []string{"(0.75x)", "(1.25x)", "40.0 s", "| target | measured | met |"} {
		if !strings.Contains(out, frag) {
			t.Errorf("summary lacks %q:\n%s", frag, out)
		}
	}
}

func TestIssue18Checks(t *testing.T) {
	three := []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}
	r := func(w, scenario, c string, median, ratio float64) row {
		return row{Workload: w, Scenario: scenario, Targets: three, Contender: c, Runs: 1, Median: median, Ratio: ratio}
	}
	rows := []row{
		r("rust", scenarioCold, crossllb, 100, 0),
		r("rust", scenarioCold, dockerfile, 130, 1.30),
		r("rust", scenarioOneFile, crossllb, 12, 0),
		r("go", scenarioCold, crossllb, 50, 0),
		r("go", scenarioCold, ko, 45, 0.90),
		r("go", scenarioCold, dockerfile, 55, 1.1),
		r("go", scenarioPulled, crossllb, 44, 0),
		r("go", scenarioPulled, ko, 45, 1.02),
		r("go", scenarioOneFile, crossllb, 5, 0),
		r("go", scenarioOneFile, ko, 6, 1.2),
		r("go", scenarioNoop, crossllb, 0.6, 0),
		r("go", scenarioNoop, dockerfile, 0.5, 0.8),
	}
	got := map[string]string{}
	for _, c := range issue18Checks(rows) {
		got[c.Target] = c.Met + ": " + c.Measured
	}
	for target, want := range map[string]string{
		"rust: cold 3-target build at or below 0.80x the hand-written cross Dockerfile's time": "yes: crossllb takes 0.77x the Dockerfile's time",
		"rust: one-file change at or below 0.10x crossllb's cold build":                        "no: 0.120x (12.0 s against 100.0 s)",
		"go: cold 3-target build at or below ko's time":                                        "no: crossllb takes 1.11x ko's time",
		"go: one-file change at or below ko's time":                                            "yes: crossllb takes 0.83x ko's time",
		"go: cold 3-target build, base images pulled, at or below ko's time":                   "yes: crossllb takes 0.98x ko's time",
		"go: no-op rebuild at or below the Dockerfile's time":                                  "no: crossllb takes 1.25x the Dockerfile's time",
		"go: one-file change at or below 0.10x crossllb's cold build":                          "yes: 0.100x (5.00 s against 50.0 s)",
	} {
		if got[target] != want {
			t.Errorf("%s: got %q, want %q", target, got[target], want)
		}
	}
	if _, ok := got["go: cold 3-target build at or below 0.80x the hand-written cross Dockerfile's time"]; ok {
		t.Error("the 0.80x Dockerfile target is for Rust, not for Go")
	}
	if len(got) != 7 {
		t.Errorf("%d checks, want 7: %v", len(got), got)
	}
}
