package main

// Where a build's wall time goes, from BuildKit's own progress: the
// crossllb and Dockerfile contenders write it as `--progress rawjson` (one
// client.SolveStatus per line) into the build's log, and every vertex and
// sub-status carries the daemon's Started and Completed times. Each vertex
// is classified by its name into a phase, and each instant of the build
// goes to one phase only: the highest in phaseOrder among the phases busy
// at that instant (so overlapping vertices, the three targets' compiles or
// a pull beside a compile, are never counted twice, and the phases add up
// to the wall time). Time no vertex covers is "idle" between the first and
// the last vertex, "startup" before the first (the client connects, sends
// its definition) and "finish" after the last (the client receives the
// result and exits).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
)

// Phase names, as the report shows them.
const (
	phaseStartup   = "startup"
	phaseContext   = "context"
	phaseResolve   = "resolve"
	phasePull      = "pull"
	phaseDeps      = "deps"
	phaseToolchain = "toolchain"
	phaseCompile   = "compile"
	phaseRuntime   = "runtime"
	phaseExport    = "export"
	phasePush      = "push"
	phaseOther     = "other"
	phaseIdle      = "idle"
	phaseFinish    = "finish"
)

// phaseOrder is the order of the report's columns and of precedence: an
// instant when several phases are busy goes to the first of them here.
// The compile comes first because the build waits on it; a pull or an
// export running beside it is hidden behind it.
var phaseOrder = []string{
	phaseCompile, phaseDeps, phaseToolchain, phaseRuntime, phasePull,
	phasePush, phaseExport, phaseContext, phaseResolve, phaseOther,
}

// reportPhases is every phase in the order the report shows them.
var reportPhases = []string{
	phaseStartup, phaseContext, phaseResolve, phasePull, phaseDeps, phaseToolchain,
	phaseCompile, phaseRuntime, phaseExport, phasePush, phaseOther, phaseIdle, phaseFinish,
}

// phaseDescriptions say what each phase covers, for the report.
var phaseDescriptions = map[string]string{
	phaseStartup:   "client start-up: from the process start to the first vertex",
	phaseContext:   "build context and Dockerfile transfer (local://context, [internal] load build context)",
	phaseResolve:   "base image resolution (load metadata for ...)",
	phasePull:      "base image pull and unpack (base image ..., FROM ...)",
	phaseDeps:      "dependency download (go mod download, cargo fetch)",
	phaseToolchain: "toolchain install (rustc, cargo, cross gcc, libstd-rust-dev)",
	phaseCompile:   "compile (go build, cargo build)",
	phaseRuntime:   "runtime stage (user, ca-certificates, the binary's copy)",
	phaseExport:    "export: layer compression, manifests",
	phasePush:      "push to the registry",
	phaseOther:     "any other vertex (WORKDIR, COPY . .)",
	phaseIdle:      "no vertex running, between the first and the last",
	phaseFinish:    "from the last vertex to the client's exit",
}

// classify maps a vertex name to its phase. The crossllb presets name
// their steps (llb's WithCustomName); the Dockerfile frontend names them
// "[platform stage i/n] INSTRUCTION".
func classify(name string) string {
	has := func(subs ...string) bool {
		return slices.ContainsFunc(subs, func(s string) bool { return strings.Contains(name, s) })
	}
	switch {
	case strings.HasPrefix(name, "pushing"):
		return phasePush
	case strings.HasPrefix(name, "exporting"):
		return phaseExport
	case has("load metadata for", "resolve image config"):
		return phaseResolve
	case has("load build definition", "load .dockerignore", "load build context", "local://", "transferring"):
		return phaseContext
	case has("] FROM ", "base image ", "docker-image://"):
		return phasePull
	case has("go build", "cargo build"):
		return phaseCompile
	case has("go mod download", "go.mod", "cargo fetch", "cargo vendor"):
		return phaseDeps
	case has("toolchain", "rustup target add", "rustc cargo", "libstd-rust-dev", "gcc-"):
		return phaseToolchain
	case has("ca-certificates", "add user", "useradd", "script of ", "ready ", "/usr/local/bin"):
		return phaseRuntime
	}
	return phaseOther
}

// interval is a half-open span of time [start, end).
type interval struct{ start, end time.Time }

// union merges overlapping or touching intervals into disjoint ones,
// sorted by start.
func union(ivs []interval) []interval {
	s := slices.Clone(ivs)
	s = slices.DeleteFunc(s, func(iv interval) bool { return !iv.end.After(iv.start) })
	slices.SortFunc(s, func(a, b interval) int { return a.start.Compare(b.start) })
	var out []interval
	for _, iv := range s {
		if n := len(out); n > 0 && !iv.start.After(out[n-1].end) {
			if iv.end.After(out[n-1].end) {
				out[n-1].end = iv.end
			}
			continue
		}
		out = append(out, iv)
	}
	return out
}

// total is the length of disjoint intervals.
func total(ivs []interval) time.Duration {
	var d time.Duration
	for _, iv := range ivs {
		d += iv.end.Sub(iv.start)
	}
	return d
}

// subtract returns a minus b; both disjoint and sorted, as union returns.
func subtract(a, b []interval) []interval {
	var out []interval
	for _, iv := range a {
		cur := iv
		for _, cut := range b {
			if !cut.end.After(cur.start) || !cut.start.Before(cur.end) {
				continue
			}
			if cut.start.After(cur.start) {
				out = append(out, interval{cur.start, cut.start})
			}
			cur.start = cut.end
			if !cur.end.After(cur.start) {
				break
			}
		}
		if cur.end.After(cur.start) {
			out = append(out, cur)
		}
	}
	return out
}

// clip limits intervals to [from, to).
func clip(ivs []interval, from, to time.Time) []interval {
	var out []interval
	for _, iv := range ivs {
		if iv.start.Before(from) {
			iv.start = from
		}
		if iv.end.After(to) {
			iv.end = to
		}
		if iv.end.After(iv.start) {
			out = append(out, iv)
		}
	}
	return out
}

// phases is one build's breakdown: Seconds adds up to the wall time (each
// instant counted once, see phaseOrder); Busy is each phase's own union of
// intervals, which may overlap other phases'.
type phases struct {
	Seconds map[string]float64 `json:"seconds"`
	Busy    map[string]float64 `json:"busy_seconds,omitempty"`
}

// progressIntervals reads rawjson progress (other lines are skipped) and
// returns each phase's intervals. A vertex not completed when the stream
// ends runs until end.
func progressIntervals(r io.Reader, end time.Time) (map[string][]interval, error) {
	type key struct {
		id      string
		started time.Time
	}
	type span struct {
		name       string
		start, end time.Time
		done       bool
	}
	spans := map[key]*span{}
	var order []key
	note := func(id, name string, started, completed *time.Time) {
		if started == nil {
			return
		}
		k := key{id, *started}
		sp, ok := spans[k]
		if !ok {
			sp = &span{name: name, start: *started}
			spans[k] = sp
			order = append(order, k)
		}
		if name != "" {
			sp.name = name
		}
		if completed != nil {
			sp.end, sp.done = *completed, true
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var st client.SolveStatus
		if err := json.Unmarshal(line, &st); err != nil {
			continue // a line of the client's own that happens to start with {
		}
		for _, v := range st.Vertexes {
			note("v:"+v.Digest.String(), v.Name, v.Started, v.Completed)
		}
		for _, s := range st.Statuses {
			// Only pushes are split out of their vertex ("exporting to
			// image" holds "pushing layers"); other statuses (layer
			// downloads, extraction) belong to their vertex's phase.
			if strings.HasPrefix(s.ID, "pushing") {
				note("s:"+s.Vertex.String()+":"+s.ID, s.ID, s.Started, s.Completed)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	out := map[string][]interval{}
	for _, k := range order {
		sp := spans[k]
		e := sp.end
		if !sp.done {
			// Restarted and completed later under another start time
			// (a vertex shared by two jobs): it ended at the first
			// completion after its start; otherwise it ran to the end.
			e = end
			for _, k2 := range order {
				if o := spans[k2]; k2.id == k.id && o.done && !o.end.Before(sp.start) && o.end.Before(e) {
					e = o.end
				}
			}
		}
		p := classify(sp.name)
		out[p] = append(out[p], interval{sp.start, e})
	}
	return out, nil
}

// breakdown attributes the wall time from start to end to phases.
func breakdown(byPhase map[string][]interval, start, end time.Time) phases {
	ph := phases{Seconds: map[string]float64{}, Busy: map[string]float64{}}
	var all []interval
	for _, ivs := range byPhase {
		all = append(all, ivs...)
	}
	covered := union(clip(all, start, end))
	if len(covered) == 0 {
		ph.Seconds[phaseStartup] = end.Sub(start).Seconds()
		return ph
	}
	first, last := covered[0].start, covered[len(covered)-1].end
	ph.Seconds[phaseStartup] = first.Sub(start).Seconds()
	ph.Seconds[phaseFinish] = end.Sub(last).Seconds()
	ph.Seconds[phaseIdle] = total(subtract([]interval{{first, last}}, covered)).Seconds()
	var taken []interval
	for _, p := range phaseOrder {
		own := union(clip(byPhase[p], start, end))
		if len(own) == 0 {
			continue
		}
		ph.Busy[p] = total(own).Seconds()
		ph.Seconds[p] = total(subtract(own, taken)).Seconds()
		taken = union(append(taken, own...))
	}
	for p, s := range ph.Seconds {
		if s <= 0 {
			delete(ph.Seconds, p)
		}
	}
	return ph
}

// phaseTable is the markdown breakdown of every row that has one, and
// ko's totals beside them; "" if no row has phases.
func phaseTable(rows []row) string {
	var present []string
	for _, p := range reportPhases {
		if slices.ContainsFunc(rows, func(rw row) bool { return rw.Phases != nil && rw.Phases.Seconds[p] > 0 }) {
			present = append(present, p)
		}
	}
	if len(present) == 0 {
		return ""
	}
	var b strings.Builder
	writeTableHeader(&b, []string{"workload", "scenario", "targets", "contender", "wall"}, present)
	for _, rw := range rows {
		if rw.Runs == 0 || (rw.Phases == nil && rw.Contender != ko) {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |", rw.Workload, rw.Scenario, shortTargets(rw.Targets), rw.Contender, formatSeconds(rw.Median))
		for _, p := range present {
			v := "-"
			if rw.Phases != nil {
				if s := rw.Phases.Seconds[p]; s > 0 {
					v = formatSeconds(s)
				}
			}
			fmt.Fprintf(&b, " %s |", v)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	for _, p := range present {
		fmt.Fprintf(&b, "- %s: %s\n", p, phaseDescriptions[p])
	}
	return b.String()
}
