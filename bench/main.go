// Command bench measures crossllb against the ways multi-platform images
// are built today, on one machine and one buildkitd, and reports each
// contender's time as a ratio to crossllb's, measured in the same run.
//
//	make bench        # the default scope: about two hours on 2 cores
//	make bench-quick  # the Go workload, one run, linux/amd64 only: minutes
//
// Workloads: go-containerregistry's cmd/crane, fetched through the Go
// module proxy and vendored (no step downloads modules); the Rust hello
// crate of examples/cargo (small: it measures overhead and the toolchain
// install, not compile speed); and the bench's Rust service,
// bench/testdata/rust-service (hyper, tokio, rustls, ring, openssl, clap,
// serde: 60+ crates from Debian's librust-*-dev sources, offline, ring's C
// and assembly compiled by each target's cross gcc through the cc crate).
//
// Contenders, same source, same targets, same buildkitd, every image pushed
// to the local registry ($CROSSLLB_REGISTRY) under a repository of its own:
//
//   - crossllb: the gobuild and cargo presets (examples/gobuild, examples/cargo);
//   - dockerfile: BuildKit's Dockerfile frontend through buildctl, with the
//     hand-written cross-compile Dockerfiles next to this file
//     (Dockerfile.go-cross, Dockerfile.rust-cross, Dockerfile.rust-service-cross);
//   - dockerfile+cache: the same with cache mounts (Dockerfile.*-cachemounts);
//   - emulated: the Dockerfile without --platform=$BUILDPLATFORM, everything
//     under QEMU, one foreign target at a time, one run, time-bounded;
//   - ko (Go only), with a fresh GOCACHE for cold runs.
//
// Scenarios: cold (daemon pruned, fresh GOCACHE) for 1, 2 and 3 targets;
// no-op rebuild; one-file change; one foreign target under emulation; the
// library's own overhead (graph construction and marshalling, client heap
// while sending a 100,000-file context).
//
// Each BuildKit contender writes its progress as rawjson into its build
// log; the bench breaks every build's wall time into phases from the
// vertices' Started/Completed times (phases.go): client start-up, context
// transfer, base resolution, pull, dependency download, toolchain install,
// compile, runtime stage, export, push, and idle time.
//
// The bench starts its own buildkitd (root and socket under
// $CROSSLLB_CACHE/bench, the buildkitd.toml hack/setup wrote), so that
// pruning it for cold runs never disturbs another daemon, and stops it on
// exit. It writes latest.md, latest.json and a chart, latest.svg, to
// --out, and prints the
// tables on standard output.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/crossllb/crossllb/platforms"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	repo, cache, registry, out string
	runs, coldRuns             int
	targets                    []string // every target, in order; warm scenarios build them all
	coldSizes, rustColdSizes   []int    // cold scenarios build the first n targets
	slowWarm                   time.Duration
	workloads                  []string
	emulated                   []string // foreign targets built under QEMU
	emulatedTimeout            time.Duration
	overhead                   bool
	redraw                     bool
	scenarios                  []string // "cold", "warm", "emulated"
	baseline                   string
	benchtime                  string
	koVersion, craneVersion    string
	args                       []string
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := config{args: args}
	var targets, sizes, rustSizes, workloads, emulated, scenarios string
	fs.StringVar(&c.repo, "repo", ".", "the crossllb checkout (its examples are the crossllb contender)")
	fs.StringVar(&c.cache, "cache", os.Getenv("CROSSLLB_CACHE"), "hack/setup's cache directory (default $CROSSLLB_CACHE)")
	fs.StringVar(&c.registry, "registry", os.Getenv("CROSSLLB_REGISTRY"), "the local registry every contender pushes to (default $CROSSLLB_REGISTRY)")
	fs.StringVar(&c.out, "out", filepath.Join("bench", "results"), "directory for latest.md, latest.json and latest.svg")
	fs.IntVar(&c.runs, "runs", 3, "runs of each warm scenario (no-op, one-file change); the median is reported")
	fs.IntVar(&c.coldRuns, "cold-runs", 3, "runs of each cold scenario; the median is reported")
	fs.StringVar(&targets, "platforms", "linux/amd64,linux/arm64,linux/arm/v7", "targets, comma-separated; warm scenarios build them all")
	fs.StringVar(&sizes, "cold-sizes", "1,2,3", "cold scenarios of the Go workload build the first N targets, for each N (all targets are always built cold)")
	fs.StringVar(&rustSizes, "rust-cold-sizes", "3", "--cold-sizes for the Rust workload")
	fs.DurationVar(&c.slowWarm, "slow-warm", 2*time.Minute, "a contender whose first no-op or one-file-change run takes longer runs that scenario once")
	fs.StringVar(&workloads, "workloads", "rust,rust-service,go", "workloads, comma-separated, run in this order: rust (examples/cargo's hello; small, so a broken setup shows early), rust-service (bench/testdata/rust-service, 60+ crates, C through cc), go (crane)")
	fs.StringVar(&scenarios, "scenarios", "cold,warm,emulated", "scenarios to run, comma-separated: cold (every --cold-sizes), pulled (cold, but with the workload's base images pulled and unpacked after the prune, as ko finds its Go toolchain installed; Go only, every --cold-sizes), warm (no-op and one-file change, each right after the contender's cold build of every target, which runs even without cold), emulated (each --emulated target alone)")
	fs.StringVar(&emulated, "emulated", "linux/arm64,linux/arm/v7", "foreign targets to build under QEMU, one at a time (empty: skip)")
	fs.DurationVar(&c.emulatedTimeout, "emulated-timeout", 20*time.Minute, "bound on each emulated build")
	fs.BoolVar(&c.overhead, "overhead", true, "measure the library's overhead (go test -bench, 100,000-file context)")
	fs.StringVar(&c.baseline, "baseline", "", "another crossllb checkout (an earlier commit, say from `git worktree add`): its presets are the contender crossllb-baseline, before and after a change in one run")
	fs.BoolVar(&c.redraw, "redraw", false, "build nothing: draw latest.svg again from --out's latest.json")
	fs.StringVar(&c.benchtime, "benchtime", "1s", "go test -benchtime for the graph benchmark")
	fs.StringVar(&c.koVersion, "ko-version", "v0.19.1", "ko version, built from the module proxy")
	fs.StringVar(&c.craneVersion, "crane-version", "v0.22.1", "go-containerregistry version whose cmd/crane is the Go workload")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: every input is a flag", fs.Arg(0))
	}
	if !c.redraw && (c.cache == "" || c.registry == "") {
		return nil, errors.New("CROSSLLB_CACHE and CROSSLLB_REGISTRY are not set: run `make setup` and source .setup.env, or pass --cache and --registry")
	}
	if c.runs < 1 || c.coldRuns < 1 {
		return nil, fmt.Errorf("--runs %d, --cold-runs %d: want at least 1", c.runs, c.coldRuns)
	}
	ps, err := platforms.ParseList(targets)
	if err != nil {
		return nil, fmt.Errorf("--platforms: %w", err)
	}
	for _, p := range ps {
		c.targets = append(c.targets, platforms.Format(p))
	}
	for _, s := range strings.Split(scenarios, ",") {
		if s != "cold" && s != "pulled" && s != "warm" && s != "emulated" {
			return nil, fmt.Errorf("--scenarios %q: unknown scenario %q (want cold, pulled, warm, emulated)", scenarios, s)
		}
		c.scenarios = append(c.scenarios, s)
	}
	for _, w := range strings.Split(workloads, ",") {
		if w != "go" && w != "rust" && w != "rust-service" {
			return nil, fmt.Errorf("--workloads %q: unknown workload %q (want go, rust, rust-service)", workloads, w)
		}
		c.workloads = append(c.workloads, w)
	}
	// Sizes are checked only for the workloads that run: the Rust default
	// (3) does not fit a one-target Go-only run.
	if slices.Contains(c.workloads, "go") {
		if c.coldSizes, err = parseSizes("--cold-sizes", sizes, len(c.targets)); err != nil {
			return nil, err
		}
	}
	if slices.Contains(c.workloads, "rust") || slices.Contains(c.workloads, "rust-service") {
		if c.rustColdSizes, err = parseSizes("--rust-cold-sizes", rustSizes, len(c.targets)); err != nil {
			return nil, err
		}
	}
	if emulated != "" {
		ps, err := platforms.ParseList(emulated)
		if err != nil {
			return nil, fmt.Errorf("--emulated: %w", err)
		}
		for _, p := range ps {
			c.emulated = append(c.emulated, platforms.Format(p))
		}
	}
	if c.repo, err = filepath.Abs(c.repo); err != nil {
		return nil, err
	}
	if c.baseline != "" {
		if c.baseline, err = filepath.Abs(c.baseline); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// parseSizes parses a comma-separated list of target counts from 1 to all.
func parseSizes(flagName, list string, all int) ([]int, error) {
	var ns []int
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > all {
			return nil, fmt.Errorf("%s %q: %q is not a number from 1 to %d (the number of --platforms)", flagName, list, s, all)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// run runs the bench: progress and build status go to stderr; the results
// (every build's time and its ratio to crossllb's, the design targets) go
// to stdout as well as to latest.md and latest.json.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if c.redraw {
		return redraw(c.out)
	}
	started := time.Now()
	tools, err := prepareTools(ctx, c, stderr)
	if err != nil {
		return err
	}
	var workloads []*workload
	for _, name := range c.workloads {
		w, err := prepareWorkload(ctx, c, name, stderr)
		if err != nil {
			return err
		}
		defer w.restore()
		workloads = append(workloads, w)
	}

	d, err := startDaemon(ctx, c, tools)
	if err != nil {
		return err
	}
	defer func() {
		if err := d.stop(); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
		}
	}()
	fmt.Fprintf(stderr, "bench: buildkitd %s on %s (root %s)\n", tools.buildkitVersion, d.addr, d.root)

	r := &runner{cfg: c, tools: tools, daemon: d, log: stderr, logs: filepath.Join(c.cache, "bench", "logs", started.Format("20060102-150405"))}
	if err := os.MkdirAll(r.logs, 0o755); err != nil {
		return err
	}
	var stopped error
	for _, w := range workloads {
		if stopped = r.workload(ctx, w); stopped != nil {
			r.notes = append(r.notes, fmt.Sprintf("the bench stopped early, during %s: %v", w.title, stopped))
			break
		}
	}
	rep := &report{
		Date:     started.UTC().Format(time.RFC3339),
		Command:  "go run ./bench " + strings.Join(c.args, " "),
		Machine:  describeMachine(),
		Versions: tools.versions(ctx, c),
		Output:   fmt.Sprintf("every contender pushes its image (an index for several targets) to the local registry %s, one repository per contender and workload", c.registry),
		Samples:  r.samples,
		Notes:    r.notes,
	}
	if c.overhead && stopped == nil {
		if rep.Overhead, err = measureOverhead(ctx, c, d, stderr); err != nil {
			r.notes = append(r.notes, "library overhead: "+err.Error())
			rep.Notes = r.notes
		}
	}
	rep.Duration = time.Since(started).Round(time.Second).String()
	rep.summarize()
	if err := rep.write(c.out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "bench: wrote %s, latest.json and latest.svg in %s\n", filepath.Join(c.out, "latest.md"), rep.Duration)
	if _, err := io.WriteString(stdout, rep.summaryText()); err != nil {
		return err
	}
	if stopped != nil {
		return fmt.Errorf("%w (partial results written)", stopped)
	}
	if n := rep.failures(); n > 0 {
		return fmt.Errorf("%d builds failed (see the Notes of %s and the logs in %s)", n, filepath.Join(c.out, "latest.md"), r.logs)
	}
	return nil
}

// redraw writes dir's latest.svg from its latest.json.
func redraw(dir string) error {
	dt, err := os.ReadFile(filepath.Join(dir, "latest.json"))
	if err != nil {
		return err
	}
	var rep report
	if err := json.Unmarshal(dt, &rep); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, "latest.json"), err)
	}
	svg := chartSVG(&rep)
	if svg == "" {
		return fmt.Errorf("%s: no scenario with a crossllb build to draw", filepath.Join(dir, "latest.json"))
	}
	return os.WriteFile(filepath.Join(dir, "latest.svg"), []byte(svg), 0o644)
}
