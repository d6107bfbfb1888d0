package main

// The bench's own buildkitd: hack/setup's binary and buildkitd.toml (the
// docker.io mirror), its own root and socket under $CROSSLLB_CACHE/bench,
// so that `buildctl prune --all` for cold runs never touches a daemon other
// people's tests use.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type daemon struct {
	addr, root, pidFile, buildctl string
	cmd                           *exec.Cmd
	exited                        chan struct{}
}

func startDaemon(ctx context.Context, c *config, t *tools) (*daemon, error) {
	dir := filepath.Join(c.cache, "bench")
	runDir := filepath.Join(dir, "run")
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, err
	}
	d := &daemon{
		addr:     "unix://" + filepath.Join(runDir, "buildkitd.sock"),
		root:     filepath.Join(dir, "buildkitd-root"),
		pidFile:  filepath.Join(runDir, "buildkitd.pid"),
		buildctl: t.buildctl,
		exited:   make(chan struct{}),
	}
	if dt, err := os.ReadFile(d.pidFile); err == nil {
		if pid, err := strconv.Atoi(string(dt)); err == nil && syscall.Kill(pid, 0) == nil {
			return nil, fmt.Errorf("the bench's buildkitd (pid %d, %s) is running: another bench is in progress; wait for it, or stop that pid", pid, d.pidFile)
		}
	}
	os.Remove(filepath.Join(runDir, "buildkitd.sock"))
	logFile, err := os.Create(filepath.Join(runDir, "buildkitd.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	d.cmd = exec.Command(t.buildkitd,
		"--root", d.root, "--addr", d.addr,
		"--config", filepath.Join(c.cache, "buildkitd", "buildkitd.toml"),
		"--oci-worker=true", "--containerd-worker=false")
	d.cmd.Stdout, d.cmd.Stderr = logFile, logFile
	// Its own process group: a signal to the bench does not reach it
	// before the bench has cancelled its builds.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", t.buildkitd, err)
	}
	go func() { d.cmd.Wait(); close(d.exited) }()
	if err := os.WriteFile(d.pidFile, []byte(strconv.Itoa(d.cmd.Process.Pid)), 0o644); err != nil {
		d.stop()
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		probe := exec.CommandContext(ctx, d.buildctl, "--addr", d.addr, "debug", "workers")
		if probe.Run() == nil {
			return d, nil
		}
		select {
		case <-d.exited:
			return nil, fmt.Errorf("buildkitd exited at start: see %s", logFile.Name())
		case <-ctx.Done():
			d.stop()
			return nil, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, fmt.Errorf("buildkitd did not answer on %s within 60s: see %s", d.addr, logFile.Name())
		}
	}
}

// prune empties the daemon's cache: every record, cache mounts included.
func (d *daemon) prune(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, d.buildctl, "--addr", d.addr, "prune", "--all").CombinedOutput()
	if err != nil {
		return fmt.Errorf("buildctl prune --all: %w: %s", err, out)
	}
	return nil
}

// pull makes the daemon pull and unpack build (for the build platform)
// and runtime (for each target), and nothing else: a Dockerfile that copies
// a file out of each, so that BuildKit mounts them (a FileOp, no
// container, no emulation), built with no output. Its own cache records
// are a few bytes; the unpacked layers are what later builds find.
func (d *daemon) pull(ctx context.Context, dir, build, runtime string, targets []string) error {
	ctxDir, err := os.MkdirTemp(dir, "pull-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(ctxDir)
	df := fmt.Sprintf("FROM --platform=$BUILDPLATFORM %s AS build\nFROM %s AS runtime\nFROM scratch\nCOPY --from=build /etc/os-release /build\nCOPY --from=runtime /etc/os-release /runtime\n", build, runtime)
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(df), 0o644); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, d.buildctl, "--addr", d.addr, "build", "--progress", "plain",
		"--frontend", "dockerfile.v0", "--local", "context="+ctxDir, "--local", "dockerfile="+ctxDir,
		"--opt", "platform="+strings.Join(targets, ",")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pulling %s and %s for %s: buildctl build: %w: %s", build, runtime, strings.Join(targets, ","), err, out)
	}
	return nil
}

// stop ends the daemon the bench started: SIGTERM, then SIGKILL after 30s.
func (d *daemon) stop() error {
	defer os.Remove(d.pidFile)
	select {
	case <-d.exited:
		return nil
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
		return nil
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
		return errors.New("buildkitd did not stop within 30s of SIGTERM: killed")
	}
}

// appendCacheMounts appends the daemon's cache mounts (id, size, last use)
// to a build's log, after the build and outside its time: when a warm
// build compiles from scratch, the log shows whether the cache mount it
// should have found was there.
func (d *daemon) appendCacheMounts(ctx context.Context, logPath string) {
	out, err := exec.CommandContext(ctx, d.buildctl, "--addr", d.addr, "du", "-v", "--filter", "type==exec.cachemount").CombinedOutput()
	if err != nil {
		out = fmt.Appendf(out, "\n(buildctl du: %v)\n", err)
	}
	f, err := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "\n$ buildctl du -v --filter type==exec.cachemount (after the build, not timed)\n%s", out)
}
