package main

// The contenders: how each one is invoked for a workload and a list of
// targets. Every one is a separate process, timed from start to exit, that
// pushes its image to the local registry.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Contender names, as the report shows them.
const (
	crossllb = "crossllb"
	// crossllbEmuRT is crossllb with its runtime steps (user, dirs, apt)
	// run on the target under QEMU, as before llb.WithBuildTools.
	crossllbEmuRT = "crossllb-emulated-runtime"
	// crossllbBase is crossllb built from --baseline, an earlier
	// checkout: before and after a change, in one run.
	crossllbBase    = "crossllb-baseline"
	dockerfile      = "dockerfile"
	dockerfileCache = "dockerfile+cache"
	emulated        = "emulated"
	ko              = "ko"
)

// invocation is one build: a command line, its directory and environment.
type invocation struct {
	args []string
	dir  string
	env  []string
}

// contender builds a workload's image for targets; cold asks for empty
// caches of its own (the daemon is pruned by the runner).
type contender struct {
	name   string
	invoke func(w *workload, targets []string, cold bool) (invocation, error)
	// progress says the build's log is BuildKit's rawjson progress, from
	// which the bench breaks its time into phases (phases.go).
	progress bool
}

// contenders are the cross-compiling contenders for w: the ones of the
// cold and warm scenarios.
func (r *runner) contenders(w *workload) []contender {
	cs := []contender{
		{crossllb, r.crossllb, true},
		{dockerfile, r.dockerfile(w.name + "-cross"), true},
		{dockerfileCache, r.dockerfile(w.name + "-cross-cachemounts"), true},
	}
	if r.tools.baselineCargo != "" {
		cs = append(cs, contender{crossllbBase, r.crossllbBaseline, true})
	}
	if w.lang == "go" {
		cs = append(cs, contender{ko, r.ko, false})
	}
	if w.name == "rust" {
		// The Go preset has no runtime steps; the Rust one has a user,
		// its dirs and ca-certificates: native against emulated.
		cs = append(cs, contender{crossllbEmuRT, r.crossllbEmulatedRuntime, true})
	}
	return cs
}

func (r *runner) image(w *workload, contender string) string {
	return fmt.Sprintf("%s/bench/%s-%s:latest", r.cfg.registry, w.name, strings.ReplaceAll(contender, "+", "-"))
}

func (r *runner) crossllb(w *workload, targets []string, _ bool) (invocation, error) {
	common := []string{
		"--addr", r.daemon.addr,
		"--context", w.dir,
		"--platform", strings.Join(targets, ","),
		"--output", "type=image,name=" + r.image(w, crossllb) + ",push=true,registry.insecure=true",
		"--progress", "rawjson",
	}
	var tool string
	switch w.lang {
	case "go":
		tool = r.tools.gobuild
	case "rust":
		tool = r.tools.cargo
	default:
		return invocation{}, fmt.Errorf("crossllb: no preset for workload %q", w.name)
	}
	return invocation{args: append(append([]string{tool}, w.crossllb...), common...)}, nil
}

// crossllbBaseline is crossllb with the presets of --baseline.
func (r *runner) crossllbBaseline(w *workload, targets []string, cold bool) (invocation, error) {
	inv, err := r.crossllb(w, targets, cold)
	if err != nil {
		return inv, err
	}
	switch inv.args[0] {
	case r.tools.gobuild:
		inv.args[0] = r.tools.baselineGobuild
	case r.tools.cargo:
		inv.args[0] = r.tools.baselineCargo
	}
	for i, a := range inv.args {
		if strings.HasPrefix(a, "type=image,name=") {
			inv.args[i] = "type=image,name=" + r.image(w, crossllbBase) + ",push=true,registry.insecure=true"
		}
	}
	return inv, nil
}

// crossllbEmulatedRuntime is crossllb with --runtime-steps emulated.
func (r *runner) crossllbEmulatedRuntime(w *workload, targets []string, cold bool) (invocation, error) {
	inv, err := r.crossllb(w, targets, cold)
	if err != nil {
		return inv, err
	}
	for i, a := range inv.args {
		if strings.HasPrefix(a, "type=image,name=") {
			inv.args[i] = "type=image,name=" + r.image(w, crossllbEmuRT) + ",push=true,registry.insecure=true"
		}
	}
	inv.args = append(inv.args, "--runtime-steps", "emulated")
	return inv, nil
}

// dockerfile builds bench/Dockerfile.<variant> with the Dockerfile frontend
// built into buildkitd.
func (r *runner) dockerfile(variant string) func(w *workload, targets []string, cold bool) (invocation, error) {
	return func(w *workload, targets []string, _ bool) (invocation, error) {
		name := "Dockerfile." + variant
		dir := filepath.Join(r.cfg.repo, "bench")
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return invocation{}, err
		}
		contender := dockerfile
		switch {
		case strings.HasSuffix(variant, "-cachemounts"):
			contender = dockerfileCache
		case strings.HasSuffix(variant, "-emulated"):
			contender = emulated
		}
		args := []string{
			r.tools.buildctl, "--addr", r.daemon.addr, "build",
			"--frontend", "dockerfile.v0",
			"--local", "context=" + w.dir,
			"--local", "dockerfile=" + dir,
			"--opt", "filename=" + name,
			"--opt", "platform=" + strings.Join(targets, ","),
			"--output", "type=image,name=" + r.image(w, contender) + ",push=true,registry.insecure=true",
			"--progress", "rawjson",
		}
		for _, kv := range w.buildArgs {
			args = append(args, "--opt", "build-arg:"+kv)
		}
		return invocation{args: args}, nil
	}
}

// ko builds with a GOCACHE of its own under $CROSSLLB_CACHE/bench, emptied
// before a cold build.
func (r *runner) ko(w *workload, targets []string, cold bool) (invocation, error) {
	if w.lang != "go" {
		return invocation{}, fmt.Errorf("ko builds Go only, not workload %q", w.name)
	}
	inv := invocation{
		args: []string{r.tools.ko, "build", "--bare", "--sbom=none", "--insecure-registry",
			"--platform=" + strings.Join(targets, ","), "./cmd/crane"},
		dir: w.dir,
	}
	gocache := filepath.Join(r.cfg.cache, "bench", "ko-gocache")
	if cold {
		// Emptied, not replaced: the warm builds that follow start from
		// what this cold build leaves, as for the BuildKit contenders.
		if err := os.RemoveAll(gocache); err != nil {
			return invocation{}, err
		}
	}
	inv.env = []string{
		"KO_DOCKER_REPO=" + strings.TrimSuffix(r.image(w, ko), ":latest"),
		"KO_DEFAULTBASEIMAGE=" + r.cfg.registry + "/library/debian:bookworm-slim",
		"GOFLAGS=-mod=vendor",
		"GOCACHE=" + gocache,
		"GOTOOLCHAIN=local",
	}
	return inv, nil
}
