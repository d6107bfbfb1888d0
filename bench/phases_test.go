package main

import (
	"bytes"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// at is t0 plus s seconds.
func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func iv(a, b float64) interval { return interval{at(a), at(b)} }

func secs(ivs []interval) [][2]float64 {
	var out [][2]float64
	for _, x := range ivs {
		out = append(out, [2]float64{x.start.Sub(t0).Seconds(), x.end.Sub(t0).Seconds()})
	}
	return out
}

func TestUnion(t *testing.T) {
	got := secs(union([]interval{iv(5, 7), iv(0, 2), iv(1, 3), iv(3, 4), iv(10, 10), iv(6, 6.5)}))
	want := [][2]float64{{0, 4}, {5, 7}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("union = %v, want %v", got, want)
	}
	if d := total(union([]interval{iv(0, 2), iv(1, 3)})); d != 3*time.Second {
		t.Errorf("total of overlapping [0,2) and [1,3) = %v, want 3s", d)
	}
}

func TestSubtract(t *testing.T) {
	for _, tc := range []struct {
		a, b []interval
		want [][2]float64
	}{
		{[]interval{iv(0, 10)}, []interval{iv(2, 3), iv(5, 6)}, [][2]float64{{0, 2}, {3, 5}, {6, 10}}},
		{[]interval{iv(0, 10)}, []interval{iv(-1, 11)}, nil},
		{[]interval{iv(0, 4), iv(6, 10)}, []interval{iv(3, 7)}, [][2]float64{{0, 3}, {7, 10}}},
		{[]interval{iv(0, 4)}, nil, [][2]float64{{0, 4}}},
	} {
		got := secs(subtract(tc.a, tc.b))
		if len(got) != len(tc.want) {
			t.Errorf("subtract(%v, %v) = %v, want %v", secs(tc.a), secs(tc.b), got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("subtract(%v, %v) = %v, want %v", secs(tc.a), secs(tc.b), got, tc.want)
			}
		}
	}
}

// Overlapping phases count once, by precedence; uncovered time is
// startup, idle or finish; everything adds up to the wall time.
func TestBreakdown(t *testing.T) {
	byPhase := map[string][]interval{
		phaseResolve: {iv(1, 2)},
		phasePull:    {iv(2, 5), iv(4, 8)}, // overlapping pulls: 6 s busy
		phaseCompile: {iv(6, 20), iv(7, 18)},
		phaseExport:  {iv(22, 26)},
		phasePush:    {iv(24, 26)}, // inside the export vertex
	}
	ph := breakdown(byPhase, at(0), at(30))
	want := map[string]float64{
		phaseStartup: 1, phaseResolve: 1, phasePull: 4, phaseCompile: 14,
		phaseIdle: 2, phaseExport: 2, phasePush: 2, phaseFinish: 4,
	}
	sum := 0.0
	for p, s := range ph.Seconds {
		sum += s
		if math.Abs(s-want[p]) > 1e-9 {
			t.Errorf("%s = %v s, want %v", p, s, want[p])
		}
	}
	for p := range want {
		if _, ok := ph.Seconds[p]; !ok {
			t.Errorf("no %s in %v", p, ph.Seconds)
		}
	}
	if math.Abs(sum-30) > 1e-9 {
		t.Errorf("phases add up to %v s, want the wall time 30 s", sum)
	}
	if ph.Busy[phasePull] != 6 || ph.Busy[phaseCompile] != 14 {
		t.Errorf("busy = %v, want pull 6 s, compile 14 s", ph.Busy)
	}
	// A vertex that started before the client (impossible, but clocks)
	// or ran past its exit is clipped to the build.
	ph = breakdown(map[string][]interval{phaseCompile: {iv(-5, 40)}}, at(0), at(30))
	if ph.Seconds[phaseCompile] != 30 || len(ph.Seconds) != 1 {
		t.Errorf("clipped: %v, want compile 30 s only", ph.Seconds)
	}
	ph = breakdown(nil, at(0), at(3))
	if ph.Seconds[phaseStartup] != 3 {
		t.Errorf("no vertex: %v, want startup 3 s", ph.Seconds)
	}
}

func TestClassify(t *testing.T) {
	for name, want := range map[string]string{
		// crossllb's presets
		"[linux/amd64] load metadata for golang:1.26-bookworm":            phaseResolve,
		"base image docker.io/library/golang:1.26-bookworm (linux/amd64)": phasePull,
		"local://context":                     phaseContext,
		"go mod download":                     phaseDeps,
		"go build ./cmd/crane (linux/arm/v7)": phaseCompile,
		"install Rust and C cross toolchains for [linux/amd64 linux/arm/v7 linux/arm64]":                            phaseToolchain,
		"cargo build --bin hello (linux/arm64, aarch64-unknown-linux-gnu)":                                          phaseCompile,
		"apt-get install ca-certificates (linux/arm64, natively on linux/amd64)":                                    phaseRuntime,
		"add user hello 333333:333333 (linux/amd64)":                                                                phaseRuntime,
		"script of apt-get install ca-certificates (linux/arm/v7, natively on linux/amd64)":                         phaseRuntime,
		"ready docker.io/library/debian:bookworm-slim for native apt steps: ca-certificates, openssl (linux/amd64)": phaseRuntime,
		"copy /usr/local/bin/hello (linux/arm64)":                                                                   phaseRuntime,
		"exporting to image": phaseExport,
		"pushing layers":     phasePush,
		"pushing manifest for 127.0.0.1:5000/bench/go-crossllb:latest@sha256:00": phasePush,
		// the Dockerfile frontend
		"[internal] load build definition from Dockerfile.rust-cross":                                            phaseContext,
		"[internal] load .dockerignore":                                                                          phaseContext,
		"[internal] load build context":                                                                          phaseContext,
		"[linux/arm64 internal] load metadata for docker.io/library/debian:bookworm-slim":                        phaseResolve,
		"[build 1/4] FROM docker.io/library/golang:1.26-bookworm@sha256:a9b1":                                    phasePull,
		"[linux/amd64 rust 2/2] RUN i=0; until apt-get update && apt-get install -y rustc cargo; do":             phaseToolchain,
		"[linux/amd64->arm64 build 1/4] RUN set -e; arm64) pkgs=\"gcc-aarch64-linux-gnu libstd-rust-dev:arm64\"": phaseToolchain,
		"[linux/amd64->arm64 build 4/4] RUN set -e; cargo build --release --locked --target $triple":             phaseCompile,
		"[linux/amd64 build 4/4] RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -mod=vendor -o /out/crane":      phaseCompile,
		"[linux/arm64 stage-2 2/3] RUN apt-get install -y ca-certificates; useradd --system hello":               phaseRuntime,
		"[linux/arm64 stage-2 3/3] COPY --from=build /out/hello /usr/local/bin/hello":                            phaseRuntime,
		"[linux/amd64 build 2/4] WORKDIR /src":                                                                   phaseOther,
	} {
		if got := classify(name); got != want {
			t.Errorf("classify(%q) = %s, want %s", name, got, want)
		}
	}
}

// The rawjson reader: a vertex seen twice (started, then completed) is one
// interval; pushes are split from their export vertex; lines that are not
// progress are skipped; a vertex never completed runs to the end.
func TestProgressIntervals(t *testing.T) {
	log := `$ buildctl build --progress rawjson
{"vertexes":[{"digest":"sha256:aa","name":"go build ./cmd/crane (linux/amd64)","started":"2026-12-03T12:00:02Z"}]}
{"vertexes":[{"digest":"sha256:aa","name":"go build ./cmd/crane (linux/amd64)","started":"2026-12-03T12:00:02Z","completed":"2026-12-03T12:00:10Z"}]}
{"vertexes":[{"digest":"sha256:bb","name":"exporting to image","started":"2026-12-03T12:00:11Z"}],"statuses":[{"id":"pushing layers","vertex":"sha256:bb","current":0,"timestamp":"2026-12-03T12:00:12Z","started":"2026-12-03T12:00:12Z"}]}
{"statuses":[{"id":"pushing layers","vertex":"sha256:bb","current":0,"timestamp":"2026-12-03T12:00:13Z","started":"2026-12-03T12:00:12Z","completed":"2026-12-03T12:00:13Z"},{"id":"extracting sha256:cc","vertex":"sha256:bb","current":0,"timestamp":"2026-12-03T12:00:13Z","started":"2026-12-03T12:00:12Z"}]}
{not json
NAME  SIZE  (buildctl du)
`
	got, err := progressIntervals(strings.NewReader(log), at(15))
	if err != nil {
		t.Fatal(err)
	}
	check := func(p string, want [][2]float64) {
		t.Helper()
		g := secs(got[p])
		if len(g) != len(want) {
			t.Errorf("%s: %v, want %v", p, g, want)
			return
		}
		for i := range g {
			if g[i] != want[i] {
				t.Errorf("%s: %v, want %v", p, g, want)
			}
		}
	}
	check(phaseCompile, [][2]float64{{2, 10}})
	check(phaseExport, [][2]float64{{11, 15}})
	check(phasePush, [][2]float64{{12, 13}})
	if len(got) != 3 {
		t.Errorf("phases %v, want compile, export and push only", got)
	}
}

func TestPhaseTable(t *testing.T) {
	rows := []row{
		{Workload: "go", Scenario: scenarioCold, Targets: []string{"linux/amd64"}, Contender: crossllb, Runs: 1, Median: 20,
			Phases: &phases{Seconds: map[string]float64{phaseStartup: 1.5, phaseCompile: 18.5}}},
		{Workload: "go", Scenario: scenarioCold, Targets: []string{"linux/amd64"}, Contender: ko, Runs: 1, Median: 15},
	}
	table := phaseTable(rows)
	for _, frag := range []string{"| wall | startup | compile |", "| go | cold | amd64 | crossllb | 20.0 s | 1.50 s | 18.5 s |", "| go | cold | amd64 | ko | 15.0 s | - | - |", "- startup: client start-up"} {
		if !strings.Contains(table, frag) {
			t.Errorf("phase table lacks %q:\n%s", frag, table)
		}
	}
	if phaseTable(rows[1:]) != "" {
		t.Error("a table without any phases")
	}
}

// Recorded progress (bench/testdata, rawjson from a real buildkitd): a
// crossllb build of examples/gobuild's hello for amd64 and arm64, served
// from cache, and the Dockerfile contender's cold-compile of the same
// source. The phases add up to the wall time, overlaps counted once.
func TestRecordedProgress(t *testing.T) {
	for _, tc := range []struct {
		file string
		// busy: each phase's union, computed by hand from the file.
		busy map[string]float64
		want []string // phases that must be there
	}{
		{"progress-dockerfile-go-hello.rawjson",
			// The two targets' RUN go build: 13:59:06.665 to 14:00:09.519
			// and to 14:00:11.800, overlapping: 65.135 s once.
			map[string]float64{phaseCompile: 65.135},
			[]string{phaseContext, phaseResolve, phasePull, phaseCompile, phaseRuntime, phaseExport, phasePush}},
		{"progress-crossllb-rust-service-cold.rawjson",
			// examples/cargo on bench/testdata/rust-service, cold, 3
			// targets (trimmed: no logs, no layer statuses): the base
			// install 14:14:07-14:17:45, the targets' installs on it to
			// 14:19:42; the three cargo builds 14:17:56 to 14:26:13.
			map[string]float64{phaseToolchain: 334.669, phaseCompile: 497.398},
			[]string{phaseContext, phaseResolve, phasePull, phaseToolchain, phaseCompile, phaseRuntime, phaseExport, phasePush}},
		{"progress-crossllb-go-hello.rawjson",
			// exporting to image: 13:58:49.539 to .645 and .645 to .829;
			// pushing inside it: .646 to .788 and .788 to .829.
			map[string]float64{phaseExport: 0.290, phasePush: 0.183},
			[]string{phaseResolve, phasePull, phaseContext, phaseExport, phasePush}},
	} {
		f, err := os.Open(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		var first, last time.Time
		dt, _ := io.ReadAll(f)
		f.Close()
		for _, m := range regexp.MustCompile(`"(?:started|completed)":"([^"]+)"`).FindAllSubmatch(dt, -1) {
			ts, err := time.Parse(time.RFC3339Nano, string(m[1]))
			if err != nil {
				t.Fatal(err)
			}
			if first.IsZero() || ts.Before(first) {
				first = ts
			}
			if ts.After(last) {
				last = ts
			}
		}
		// The client started a second before the progress it recorded
		// (in the Go samples, some vertices were replayed from an
		// earlier job, half a minute before).
		start, end := first.Add(-time.Second), last.Add(time.Second)
		byPhase, err := progressIntervals(bytes.NewReader(dt), end)
		if err != nil {
			t.Fatal(err)
		}
		ph := breakdown(byPhase, start, end)
		sum := 0.0
		for _, s := range ph.Seconds {
			sum += s
		}
		if math.Abs(sum-end.Sub(start).Seconds()) > 1e-6 {
			t.Errorf("%s: phases add up to %.3f s, want the wall time %.3f s: %v", tc.file, sum, end.Sub(start).Seconds(), ph.Seconds)
		}
		for p, want := range tc.busy {
			if math.Abs(ph.Busy[p]-want) > 0.002 {
				t.Errorf("%s: %s busy %.3f s, want %.3f s", tc.file, p, ph.Busy[p], want)
			}
		}
		for _, p := range tc.want {
			if ph.Busy[p] <= 0 {
				t.Errorf("%s: no %s phase in %v", tc.file, p, ph.Busy)
			}
		}
		if ph.Seconds[phaseFinish] < 0.999 || ph.Seconds[phaseFinish] > 1.001 {
			t.Errorf("%s: finish %.3f s, want the 1 s after the last vertex", tc.file, ph.Seconds[phaseFinish])
		}
		if len(byPhase[phaseOther]) > 0 && strings.HasPrefix(tc.file, "progress-crossllb-") {
			t.Errorf("%s: unclassified crossllb steps: %v", tc.file, byPhase[phaseOther])
		}
	}
}
