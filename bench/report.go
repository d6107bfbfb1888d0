package main

// The results: every build as a sample, the medians and ratios per
// scenario and contender, the design targets, and their rendering as
// markdown (latest.md) and JSON (latest.json).

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// sample is one timed build.
type sample struct {
	Workload  string   `json:"workload"`
	Scenario  string   `json:"scenario"`
	Targets   []string `json:"targets"`
	Contender string   `json:"contender"`
	Round     int      `json:"round"`
	Seconds   float64  `json:"seconds"`
	// Load1 is the machine's 1-minute load average when the build began:
	// other work on a shared machine shows in it.
	Load1    float64 `json:"load1"`
	TimedOut bool    `json:"timed_out,omitempty"`
	Error    string  `json:"error,omitempty"`
	// Phases breaks Seconds down from BuildKit's progress (phases.go);
	// nil for ko, which has none.
	Phases *phases `json:"phases,omitempty"`
}

func (s sample) ok() bool { return s.Error == "" }

// row is one contender in one scenario: the median over its rounds, and
// the median over rounds of its time divided by crossllb's in that round.
type row struct {
	Workload  string   `json:"workload"`
	Scenario  string   `json:"scenario"`
	Targets   []string `json:"targets"`
	Contender string   `json:"contender"`
	Runs      int      `json:"runs"`
	Median    float64  `json:"median_seconds"`
	// Ratio is 0 when there is nothing to compare.
	Ratio float64 `json:"ratio_to_crossllb,omitempty"`
	// AtLeast says the build hit its time bound: Median and Ratio are
	// lower bounds.
	AtLeast bool   `json:"at_least,omitempty"`
	Failed  string `json:"failed,omitempty"`
	// Phases is the breakdown of the run nearest the median.
	Phases *phases `json:"phases,omitempty"`
}

type check struct {
	Target   string `json:"target"`
	Measured string `json:"measured"`
	// Met is "yes", "no" or "not measured".
	Met string `json:"met"`
}

type report struct {
	Date     string            `json:"date"`
	Command  string            `json:"command"`
	Duration string            `json:"duration"`
	Machine  machine           `json:"machine"`
	Versions map[string]string `json:"versions"`
	Output   string            `json:"output"`
	Rows     []row             `json:"rows"`
	Checks   []check           `json:"design_targets"`
	Overhead *overhead         `json:"library_overhead,omitempty"`
	Notes    []string          `json:"notes,omitempty"`
	Samples  []sample          `json:"samples"`
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// nearest is the successful (or timed-out) sample whose time is nearest
// secs, the first of equals.
func nearest(ss []sample, secs float64) sample {
	var best sample
	found := false
	for _, s := range ss {
		if !s.ok() && !s.TimedOut {
			continue
		}
		if !found || math.Abs(s.Seconds-secs) < math.Abs(best.Seconds-secs) {
			best, found = s, true
		}
	}
	return best
}

type groupKey struct{ workload, scenario, targets string }

func keyOf(s sample) groupKey {
	return groupKey{s.Workload, s.Scenario, strings.Join(s.Targets, ",")}
}

// summarize turns the samples into rows (in the order the scenarios ran)
// and checks the design targets.
func (r *report) summarize() {
	r.Rows = summarize(r.Samples)
	r.Checks = checks(r.Rows, r.Overhead)
}

func summarize(samples []sample) []row {
	type rowKey struct {
		groupKey
		contender string
	}
	var order []rowKey
	by := map[rowKey][]sample{}
	for _, s := range samples {
		k := rowKey{keyOf(s), s.Contender}
		if _, seen := by[k]; !seen {
			order = append(order, k)
		}
		by[k] = append(by[k], s)
	}
	base := func(g groupKey, round int) (sample, bool) {
		for _, s := range by[rowKey{g, crossllb}] {
			if s.Round == round && s.ok() {
				return s, true
			}
		}
		return sample{}, false
	}
	var rows []row
	for _, k := range order {
		ss := by[k]
		rw := row{Workload: k.workload, Scenario: k.scenario, Targets: ss[0].Targets, Contender: k.contender}
		var times, ratios []float64
		for _, s := range ss {
			if !s.ok() && !s.TimedOut {
				rw.Failed = s.Error
				continue
			}
			rw.AtLeast = rw.AtLeast || s.TimedOut
			times = append(times, s.Seconds)
			if b, ok := base(k.groupKey, s.Round); ok && k.contender != crossllb && b.Seconds > 0 {
				ratios = append(ratios, s.Seconds/b.Seconds)
			}
		}
		rw.Runs = len(times)
		if len(times) > 0 {
			rw.Median = median(times)
			rw.Phases = nearest(ss, rw.Median).Phases
		}
		if len(ratios) > 0 {
			rw.Ratio = median(ratios)
		}
		rows = append(rows, rw)
	}
	return rows
}

func findRow(rows []row, workload, scenario, contender string, targets int) (row, bool) {
	for _, rw := range rows {
		if rw.Workload == workload && rw.Scenario == scenario && rw.Contender == contender && (targets == 0 || len(rw.Targets) == targets) && rw.Runs > 0 {
			return rw, true
		}
	}
	return row{}, false
}

func workloadsOf(rows []row) []string {
	var ws []string
	for _, rw := range rows {
		if !slices.Contains(ws, rw.Workload) {
			ws = append(ws, rw.Workload)
		}
	}
	return ws
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

// checks compares the measurements with the design targets of issue 7.
func checks(rows []row, oh *overhead) []check {
	var cs []check
	notMeasured := func(target string) { cs = append(cs, check{target, "-", "not measured"}) }
	for _, w := range workloadsOf(rows) {
		if rw, ok := findRow(rows, w, scenarioCold, crossllbEmuRT, 3); ok && rw.Ratio > 0 {
			cs = append(cs, check{w + ": cold 3-target build with the native runtime stage at or below the emulated runtime stage's time",
				fmt.Sprintf("%s takes %.2fx crossllb's time", crossllbEmuRT, rw.Ratio), yesNo(rw.Ratio >= 1)})
		}
	}
	for _, w := range workloadsOf(rows) {
		target := w + ": cold 3-target build at or below the Dockerfile frontend's time"
		var parts []string
		met := true
		for _, c := range []string{dockerfile, dockerfileCache} {
			if rw, ok := findRow(rows, w, scenarioCold, c, 3); ok && rw.Ratio > 0 {
				parts = append(parts, fmt.Sprintf("%s takes %.2fx crossllb's time", c, rw.Ratio))
				met = met && rw.Ratio >= 1
			}
		}
		if len(parts) == 0 {
			notMeasured(target)
		} else {
			cs = append(cs, check{target, strings.Join(parts, "; "), yesNo(met)})
		}
	}
	for _, w := range workloadsOf(rows) {
		rw, ok := findRow(rows, w, scenarioOneFile, ko, 3)
		if !ok {
			continue // ko builds Go only
		}
		target := w + ": one-file-change rebuild of 3 targets within 2x of ko's"
		if rw.Ratio == 0 {
			notMeasured(target)
			continue
		}
		cs = append(cs, check{target, fmt.Sprintf("crossllb takes %.2fx ko's time", 1/rw.Ratio), yesNo(1/rw.Ratio <= 2)})
	}
	for _, w := range workloadsOf(rows) {
		target := w + ": no-op rebuild under one second"
		rw, ok := findRow(rows, w, scenarioNoop, crossllb, 0)
		if !ok {
			notMeasured(target)
			continue
		}
		cs = append(cs, check{target, fmt.Sprintf("%.2f s (%s)", rw.Median, shortTargets(rw.Targets)), yesNo(rw.Median < 1)})
	}
	for _, rw := range rows {
		if rw.Scenario != scenarioEmulated || rw.Contender != emulated {
			continue
		}
		target := fmt.Sprintf("%s: at least 8x faster than emulated, %s", rw.Workload, shortTargets(rw.Targets))
		if rw.Ratio == 0 {
			notMeasured(target)
			continue
		}
		at := ""
		if rw.AtLeast {
			at = "at least "
		}
		cs = append(cs, check{target, fmt.Sprintf("emulated takes %s%.1fx crossllb's time", at, rw.Ratio), yesNo(rw.Ratio >= 8)})
	}
	cs = append(cs, issue18Checks(rows)...)
	const graphTarget = "graph construction and marshalling for 16 targets under 5 ms"
	found := false
	if oh != nil {
		for _, g := range oh.Graph {
			if g.Targets == 16 {
				found = true
				cs = append(cs, check{graphTarget, fmt.Sprintf("%.3f ms", g.NsPerOp/1e6), yesNo(g.NsPerOp < 5e6)})
			}
		}
	}
	if !found {
		notMeasured(graphTarget)
	}
	return cs
}

// issue18Checks are the targets of issue 18: for Rust, a cold 3-target
// build at or below 0.80x the hand-written cross Dockerfile's time and a
// one-file change at or below 0.10x crossllb's own cold build; for Go, at
// or below ko's time cold (1 and 3 targets) and after a one-file change,
// and a no-op rebuild at or below the Dockerfile's. Targets with nothing
// measured are left out (the issue-7 checks above say "not measured"). A
// workload is Go when ko built it (ko builds Go only).
func issue18Checks(rows []row) []check {
	var cs []check
	for _, w := range workloadsOf(rows) {
		if rw, ok := findRow(rows, w, scenarioCold, dockerfile, 3); ok && rw.Ratio > 0 && !slices.ContainsFunc(rows, func(r row) bool { return r.Workload == w && r.Contender == ko }) {
			cs = append(cs, check{w + ": cold 3-target build at or below 0.80x the hand-written cross Dockerfile's time",
				fmt.Sprintf("crossllb takes %.2fx the Dockerfile's time", 1/rw.Ratio), yesNo(1/rw.Ratio <= 0.80)})
		}
		if warm, ok := findRow(rows, w, scenarioOneFile, crossllb, 0); ok {
			if cold, ok := findRow(rows, w, scenarioCold, crossllb, len(warm.Targets)); ok && cold.Median > 0 {
				f := warm.Median / cold.Median
				cs = append(cs, check{w + ": one-file change at or below 0.10x crossllb's cold build",
					fmt.Sprintf("%.3fx (%s against %s)", f, formatSeconds(warm.Median), formatSeconds(cold.Median)), yesNo(f <= 0.10)})
			}
		}
		for _, n := range []int{1, 3} {
			if rw, ok := findRow(rows, w, scenarioCold, ko, n); ok && rw.Ratio > 0 {
				cs = append(cs, check{fmt.Sprintf("%s: cold %d-target build at or below ko's time", w, n),
					fmt.Sprintf("crossllb takes %.2fx ko's time", 1/rw.Ratio), yesNo(1/rw.Ratio <= 1)})
			}
			if rw, ok := findRow(rows, w, scenarioPulled, ko, n); ok && rw.Ratio > 0 {
				cs = append(cs, check{fmt.Sprintf("%s: cold %d-target build, base images pulled, at or below ko's time", w, n),
					fmt.Sprintf("crossllb takes %.2fx ko's time", 1/rw.Ratio), yesNo(1/rw.Ratio <= 1)})
			}
		}
		if rw, ok := findRow(rows, w, scenarioOneFile, ko, 0); ok && rw.Ratio > 0 {
			cs = append(cs, check{w + ": one-file change at or below ko's time",
				fmt.Sprintf("crossllb takes %.2fx ko's time", 1/rw.Ratio), yesNo(1/rw.Ratio <= 1)})
		}
		if rw, ok := findRow(rows, w, scenarioNoop, dockerfile, 0); ok && rw.Ratio > 0 && slices.ContainsFunc(rows, func(r row) bool { return r.Workload == w && r.Contender == ko }) {
			cs = append(cs, check{w + ": no-op rebuild at or below the Dockerfile's time",
				fmt.Sprintf("crossllb takes %.2fx the Dockerfile's time", 1/rw.Ratio), yesNo(1/rw.Ratio <= 1)})
		}
	}
	return cs
}

// failures counts builds that failed (a timed-out emulated build is a
// measurement, not a failure).
func (r *report) failures() int {
	n := 0
	for _, s := range r.Samples {
		if !s.ok() && !s.TimedOut {
			n++
		}
	}
	return n
}

func shortTargets(ts []string) string {
	var s []string
	for _, t := range ts {
		s = append(s, strings.TrimPrefix(t, "linux/"))
	}
	return strings.Join(s, ", ")
}

var contenderOrder = []string{crossllb, crossllbBase, crossllbEmuRT, dockerfile, dockerfileCache, ko, emulated}

// cell renders one contender's result: "12.3 s (1.05x)".
func cell(rw row) string {
	if rw.Runs == 0 {
		return "failed"
	}
	at := ""
	if rw.AtLeast {
		at = "≥ "
	}
	s := fmt.Sprintf("%s%s", at, formatSeconds(rw.Median))
	if rw.Ratio > 0 {
		s += fmt.Sprintf(" (%s%.2fx)", at, rw.Ratio)
	}
	return s
}

func formatSeconds(s float64) string {
	if s < 10 {
		return fmt.Sprintf("%.2f s", s)
	}
	return fmt.Sprintf("%.1f s", s)
}

// buildTable is the main table: one line per workload, scenario and
// targets, one column per contender.
func buildTable(rows []row) string {
	var present []string
	for _, c := range contenderOrder {
		if slices.ContainsFunc(rows, func(rw row) bool { return rw.Contender == c }) {
			present = append(present, c)
		}
	}
	var b strings.Builder
	writeTableHeader(&b, []string{"workload", "scenario", "targets", "runs"}, present)
	var groups []groupKey
	for _, rw := range rows {
		g := groupKey{rw.Workload, rw.Scenario, strings.Join(rw.Targets, ",")}
		if !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	for _, g := range groups {
		runs := 0
		cells := map[string]string{}
		var targets []string
		for _, rw := range rows {
			if (groupKey{rw.Workload, rw.Scenario, strings.Join(rw.Targets, ",")}) == g {
				runs = max(runs, rw.Runs)
				cells[rw.Contender] = cell(rw)
				targets = rw.Targets
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d |", g.workload, g.scenario, shortTargets(targets), runs)
		for _, c := range present {
			v := cells[c]
			if v == "" {
				v = "-"
			}
			fmt.Fprintf(&b, " %s |", v)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// coldWarmTable is issue 5's question: how much a warm rebuild after a
// one-file change saves over a cold build, per contender.
func coldWarmTable(rows []row) string {
	var b strings.Builder
	b.WriteString("| workload | contender | cold | one-file change | no-op | cold / one-file change |\n|---|---|---|---|---|---|\n")
	lines := 0
	for _, w := range workloadsOf(rows) {
		for _, c := range contenderOrder {
			warm, ok := findRow(rows, w, scenarioOneFile, c, 0)
			if !ok {
				continue
			}
			cold, ok := findRow(rows, w, scenarioCold, c, len(warm.Targets))
			if !ok {
				continue
			}
			noop := "-"
			if n, ok := findRow(rows, w, scenarioNoop, c, len(warm.Targets)); ok {
				noop = formatSeconds(n.Median)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.1fx |\n", w, c, formatSeconds(cold.Median), formatSeconds(warm.Median), noop, cold.Median/warm.Median)
			lines++
		}
	}
	if lines == 0 {
		return ""
	}
	return b.String()
}

func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# crossllb benchmark\n\n")
	fmt.Fprintf(&b, "- date: %s (took %s)\n- command: `%s`\n", r.Date, r.Duration, r.Command)
	fmt.Fprintf(&b, "- machine: %s\n", r.Machine)
	if lo, hi, ok := loadRange(r.Samples); ok {
		fmt.Fprintf(&b, "- 1-minute load average when builds began: %.1f to %.1f (other work shares this machine)\n", lo, hi)
	}
	var names []string
	for k := range r.Versions {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		fmt.Fprintf(&b, "- %s: %s\n", k, r.Versions[k])
	}
	fmt.Fprintf(&b, "- output: %s\n\n", r.Output)
	b.WriteString("## Builds\n\n")
	b.WriteString("Median wall time of each build, from the client's start to its exit with the image pushed. " +
		"In parentheses: the contender's time divided by crossllb's in the same round (median over rounds); above 1 means crossllb is faster. " +
		"Cold: the bench's buildkitd pruned (`buildctl prune --all`) before every build, a fresh GOCACHE for ko. " +
		"Cold, images pulled: the same, then the workload's base images pulled and unpacked before the build (what ko's cold build starts from: its Go toolchain is installed). " +
		"No-op rebuild and one-file change: every target, right after the same contender's cold build of every target, before any other contender runs.\n\n")
	b.WriteString(buildTable(r.Rows))
	b.WriteString("\n## Design targets\n\n| target | measured | met |\n|---|---|---|\n")
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", c.Target, c.Measured, c.Met)
	}
	if t := phaseTable(r.Rows); t != "" {
		b.WriteString("\n## Phases\n\n")
		b.WriteString("Where the wall time of the run nearest the median went, from BuildKit's progress (vertex Started/Completed, `--progress rawjson`). " +
			"Each instant counts once, for the first busy phase in the order compile, deps, toolchain, runtime, pull, push, export, context, resolve, other: the columns add up to the wall time. " +
			"ko runs no BuildKit and shows its total only. The busy time of each phase, overlaps included, is in latest.json.\n\n")
		b.WriteString(t)
	}
	if t := coldWarmTable(r.Rows); t != "" {
		b.WriteString("\n## Cold vs warm\n\n")
		b.WriteString(t)
	}
	if r.Overhead != nil {
		b.WriteString("\n## Library overhead\n\n")
		b.WriteString(r.Overhead.markdown())
	}
	notes := slices.Clone(r.Notes)
	for _, s := range r.Samples {
		if !s.ok() {
			notes = append(notes, fmt.Sprintf("%s, %s, %s, %s, round %d: %s", s.Workload, s.Scenario, shortTargets(s.Targets), s.Contender, s.Round, s.Error))
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}

// summaryText is what the bench prints on standard output: the build
// table, with each contender's ratio to crossllb, and the design targets.
func (r *report) summaryText() string {
	var b strings.Builder
	b.WriteString("Builds (median wall time; in parentheses the contender's time over crossllb's in the same round, above 1 means crossllb is faster):\n\n")
	b.WriteString(buildTable(r.Rows))
	b.WriteString("\nDesign targets:\n\n| target | measured | met |\n|---|---|---|\n")
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", c.Target, c.Measured, c.Met)
	}
	if t := phaseTable(r.Rows); t != "" {
		b.WriteString("\nPhases (seconds of wall time, each instant counted once):\n\n")
		b.WriteString(t)
	}
	return b.String()
}

// write puts latest.md, latest.json and latest.svg (chart.go) in dir.
func (r *report) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dt, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "latest.json"), append(dt, '\n'), 0o644); err != nil {
		return err
	}
	if svg := chartSVG(r); svg != "" {
		if err := os.WriteFile(filepath.Join(dir, "latest.svg"), []byte(svg), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "latest.md"), []byte(r.markdown()), 0o644)
}

// loadRange is the lowest and highest load average seen at a build's start.
func loadRange(samples []sample) (lo, hi float64, ok bool) {
	for _, s := range samples {
		if s.Load1 <= 0 {
			continue
		}
		if !ok {
			lo, hi, ok = s.Load1, s.Load1, true
		}
		lo, hi = min(lo, s.Load1), max(hi, s.Load1)
	}
	return lo, hi, ok
}

// writeTableHeader writes a Markdown table's header row and its rule: the
// fixed columns, then one per name in cols.
func writeTableHeader[S ~string](b *strings.Builder, fixed []string, cols []S) {
	b.WriteString("|")
	for _, c := range fixed {
		fmt.Fprintf(b, " %s |", c)
	}
	for _, c := range cols {
		fmt.Fprintf(b, " %s |", c)
	}
	b.WriteString("\n|")
	b.WriteString(strings.Repeat("---|", len(fixed)+len(cols)))
	b.WriteString("\n")
}
