package main

// The scenarios, in the order they run for a workload: cold builds of 1, 2
// and 3 targets (daemon pruned before each build; the contenders take turns
// within a round), each contender's no-op rebuilds and one-file changes of
// every target right after its cold build of every target, then each
// foreign target alone, cold, cross-compiled and under emulation. Each
// ratio pairs a contender's build with crossllb's of the same scenario and
// round, minutes apart on the same daemon.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Scenario names, as the report shows them.
const (
	scenarioCold     = "cold"
	scenarioPulled   = "cold, images pulled"
	scenarioEmulated = "cold, one foreign target"
	scenarioNoop     = "no-op rebuild"
	scenarioOneFile  = "one-file change"
)

type runner struct {
	cfg     *config
	tools   *tools
	daemon  *daemon
	log     io.Writer
	logs    string // one log file per build
	samples []sample
	notes   []string
	seq     int
}

func (r *runner) workload(ctx context.Context, w *workload) error {
	cs := r.contenders(w)
	all := len(r.cfg.targets)
	sizes := r.cfg.coldSizes
	if w.lang == "rust" {
		sizes = r.cfg.rustColdSizes
	}
	cold, warm := slices.Contains(r.cfg.scenarios, "cold"), slices.Contains(r.cfg.scenarios, "warm")
	switch {
	case !cold && !warm:
		sizes = nil
	case !cold:
		sizes = []int{all} // the warm scenarios start from it
	case !slices.Contains(sizes, all):
		sizes = append(slices.Clone(sizes), all) // the warm scenarios start from it
	}
	skipped := false
	for _, n := range sizes {
		targets := r.cfg.targets[:n]
		for round := 1; round <= r.cfg.coldRuns; round++ {
			for _, c := range cs {
				if c.name == dockerfileCache && n != all {
					// Cold, its cache mounts are empty: it is the
					// dockerfile contender with a bind mount for COPY.
					skipped = true
					continue
				}
				if _, err := r.measure(ctx, w, c, scenarioCold, targets, round, true, 0); err != nil {
					return err
				}
				if warm && n == all && round == r.cfg.coldRuns {
					if err := r.warm(ctx, w, c); err != nil {
						return err
					}
				}
			}
		}
	}
	if slices.Contains(r.cfg.scenarios, "pulled") {
		if err := r.pulled(ctx, w, cs); err != nil {
			return err
		}
	}
	if skipped {
		r.notes = append(r.notes, fmt.Sprintf("%s: %s is measured cold only with all %d targets (its warm scenarios start from that build); with fewer targets it would repeat the dockerfile contender with empty cache mounts", w.title, dockerfileCache, all))
	}
	if !slices.Contains(r.cfg.scenarios, "emulated") {
		return nil
	}
	return r.emulation(ctx, w)
}

// pulled measures cold builds whose base images are already in the
// daemon: pruned, then the workload's build image (for the build platform)
// and runtime image (for every target) pulled and unpacked, then the
// build. ko's cold build finds its Go toolchain installed and its base
// image is never unpacked; this is the BuildKit contenders' equivalent,
// and what a long-lived builder (a CI runner's buildkitd) starts from.
// ko's build is the same as in the cold scenario (a fresh GOCACHE).
func (r *runner) pulled(ctx context.Context, w *workload, cs []contender) error {
	if w.buildImage == "" || w.lang != "go" {
		r.notes = append(r.notes, fmt.Sprintf("%s: no %q scenario: it is measured for the Go workload, against ko", w.title, scenarioPulled))
		return nil
	}
	for _, n := range r.cfg.coldSizes {
		for round := 1; round <= r.cfg.coldRuns; round++ {
			for _, c := range cs {
				if c.name == dockerfileCache && n != len(r.cfg.targets) {
					continue // as in the cold scenario
				}
				if _, err := r.measure(ctx, w, c, scenarioPulled, r.cfg.targets[:n], round, true, 0); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// emulation builds each foreign target alone, cold: crossllb, then the
// emulated Dockerfile, once, bounded.
func (r *runner) emulation(ctx context.Context, w *workload) error {
	emu := contender{emulated, r.dockerfile(w.name + "-emulated"), true}
	for _, target := range r.cfg.emulated {
		if ok, why := w.emulable(target); !ok {
			r.notes = append(r.notes, fmt.Sprintf("%s, %s under emulation: not measured: %s", w.title, target, why))
			continue
		}
		for _, c := range []contender{{crossllb, r.crossllb, true}, emu} {
			timeout := time.Duration(0)
			if c.name == emulated {
				timeout = r.cfg.emulatedTimeout
			}
			if _, err := r.measure(ctx, w, c, scenarioEmulated, []string{target}, 1, true, timeout); err != nil {
				return err
			}
		}
	}
	return nil
}

// warm measures contender c right after its cold build of every target,
// before any other contender runs (so no prune comes between): no-op
// rebuilds, then one-file changes. A contender whose first run of a
// scenario exceeds --slow-warm runs it once.
func (r *runner) warm(ctx context.Context, w *workload, c contender) error {
	targets := r.cfg.targets
	defer w.restore()
	for _, scenario := range []string{scenarioNoop, scenarioOneFile} {
		for round := 1; round <= r.cfg.runs; round++ {
			if scenario == scenarioOneFile {
				if err := w.change(); err != nil {
					return err
				}
			}
			took, err := r.measure(ctx, w, c, scenario, targets, round, false, 0)
			if err != nil {
				return err
			}
			if round == 1 && r.cfg.runs > 1 && took > r.cfg.slowWarm {
				r.notes = append(r.notes, fmt.Sprintf("%s, %s, %s: one run only (it took %.0f s, over --slow-warm %s)", w.title, scenario, c.name, took.Seconds(), r.cfg.slowWarm))
				break
			}
		}
	}
	return nil
}

// measure runs one build, records it and returns its time. A failed build is recorded and the bench goes on; only an
// interrupt or a failed prune stops it.
func (r *runner) measure(ctx context.Context, w *workload, c contender, scenario string, targets []string, round int, cold bool, timeout time.Duration) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if cold {
		if err := w.restore(); err != nil {
			return 0, err
		}
		if err := r.daemon.prune(ctx); err != nil {
			return 0, err
		}
		if scenario == scenarioPulled {
			if err := r.daemon.pull(ctx, r.logs, w.buildImage, w.runtimeImage, targets); err != nil {
				return 0, err
			}
		}
	}
	inv, err := c.invoke(w, targets, cold)
	if err != nil {
		return 0, err
	}
	r.seq++
	label := scenario
	logPath := filepath.Join(r.logs, fmt.Sprintf("%03d-%s-%s-%s-%d.log", r.seq, w.name, strings.NewReplacer(" ", "_", ",", "").Replace(label), strings.ReplaceAll(c.name, "+", "-"), len(targets)))
	load := load1()
	start, elapsed, err := execTimed(ctx, inv, logPath, timeout)
	s := sample{Workload: w.title, Scenario: scenario, Targets: targets, Contender: c.name, Round: round, Seconds: elapsed.Seconds(), Load1: load}
	if c.progress {
		s.Phases = logPhases(logPath, start, start.Add(elapsed))
	}
	r.daemon.appendCacheMounts(ctx, logPath)
	status := "ok"
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		s.TimedOut = true
		s.Error = fmt.Sprintf("stopped at the %s bound", timeout)
		status = s.Error
	case err != nil:
		s.Error = fmt.Sprintf("%v (log: %s)", err, logPath)
		status = "FAILED: " + s.Error
	}
	fmt.Fprintf(r.log, "bench: %-5s %-24s %-16s %-38s round %d: %6.1fs (load %.1f) %s\n", w.name, label, c.name, strings.Join(targets, ","), round, elapsed.Seconds(), load, status)
	if ctx.Err() != nil {
		return elapsed, ctx.Err()
	}
	r.samples = append(r.samples, s)
	return elapsed, nil
}

// execTimed runs inv with its output in logPath and returns when it
// started and the wall time from start to exit. With a timeout, a build still running then is killed
// (its whole process group) and the error is context.DeadlineExceeded.
func execTimed(ctx context.Context, inv invocation, logPath string, timeout time.Duration) (time.Time, time.Duration, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return time.Time{}, 0, err
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "$ %s\n", strings.Join(inv.args, " "))
	runCtx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(runCtx, inv.args[0], inv.args[1:]...)
	cmd.Dir = inv.dir
	cmd.Env = append(os.Environ(), inv.env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	err = cmd.Run()
	elapsed := time.Since(start)
	if err != nil && runCtx.Err() != nil {
		return start, elapsed, runCtx.Err()
	}
	return start, elapsed, err
}

// logPhases reads the rawjson progress in a build's log; nil if the log
// has none (the build failed before its first vertex, say).
func logPhases(logPath string, start, end time.Time) *phases {
	f, err := os.Open(logPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	byPhase, err := progressIntervals(f, end)
	if err != nil || len(byPhase) == 0 {
		return nil
	}
	ph := breakdown(byPhase, start, end)
	return &ph
}
