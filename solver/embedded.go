package solver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/moby/buildkit/client"
)

// EmbeddedConfig configures the private buildkitd that Connect starts when
// it is given no address and finds no daemon. The zero value works on a
// machine prepared by hack/setup.
type EmbeddedConfig struct {
	// Binary is the buildkitd to run. Empty: buildkitd on $PATH, else the one
	// hack/setup built under $CROSSLLB_CACHE (default ~/.cache/crossllb).
	Binary string
	// Root is the daemon's state directory, kept after Close so its cache
	// serves the next run. Empty: a temporary directory removed on Close.
	// Two daemons cannot share a root.
	Root string
	// Config is a buildkitd.toml to pass with --config (registry mirrors...).
	Config string
	// StartTimeout bounds the wait for the daemon to answer (default 60s).
	StartTimeout time.Duration
}

type embeddedDaemon struct {
	cmd     *exec.Cmd
	addr    string
	root    string
	tmpRoot bool
	sockDir string // set when the socket could not live in root
	log     *lockedBuffer
	exited  chan struct{}
}

// lockedBuffer collects the daemon's output, written by exec's copying
// goroutines and read by us.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// maxDaemonLog bounds what is kept of the daemon's output: its tail is what
// explains a failed start, and the daemon may run for hours.
const maxDaemonLog = 64 << 10

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if b.buf.Len() > maxDaemonLog {
		tail := append([]byte(nil), b.buf.Bytes()[b.buf.Len()-maxDaemonLog/2:]...)
		b.buf.Reset()
		b.buf.Write(tail)
	}
	return n, err
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func findBuildkitd(cfg EmbeddedConfig) (string, []string, error) {
	if cfg.Binary != "" {
		return cfg.Binary, nil, nil
	}
	var tried []string
	if p, err := exec.LookPath("buildkitd"); err == nil {
		return p, nil, nil
	}
	tried = append(tried, "buildkitd on $PATH")
	cache := os.Getenv("CROSSLLB_CACHE")
	if cache == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			cache = filepath.Join(dir, "crossllb")
		}
	}
	if cache != "" {
		if v := buildkitVersion(); v != "" {
			p := filepath.Join(cache, "buildkit-"+v, "bin", "buildkitd")
			if fileExists(p) {
				return p, nil, nil
			}
			tried = append(tried, p)
		}
	}
	return "", tried, errors.New("buildkitd not found")
}

// buildkitVersion is the BuildKit module version this program was built
// with: hack/setup caches buildkitd under that version.
func buildkitVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, m := range bi.Deps {
		if m.Path == "github.com/moby/buildkit" {
			if m.Replace != nil {
				return m.Replace.Version
			}
			return m.Version
		}
	}
	return ""
}

func startEmbedded(ctx context.Context, cfg EmbeddedConfig) (*embeddedDaemon, error) {
	bin, tried, err := findBuildkitd(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w (looked for %v): put buildkitd (and buildkit-runc or runc) on PATH, or set EmbeddedConfig.Binary to its path", err, tried)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%s needs root for its runc worker: run as root, or start buildkitd yourself and set BUILDKIT_HOST", bin)
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	d := &embeddedDaemon{root: cfg.Root, log: &lockedBuffer{}, exited: make(chan struct{})}
	if d.root == "" {
		if d.root, err = os.MkdirTemp("", "crossllb-buildkitd-"); err != nil {
			return nil, fmt.Errorf("embedded buildkitd: %w", err)
		}
		d.tmpRoot = true
	} else if err := os.MkdirAll(d.root, 0o700); err != nil {
		return nil, fmt.Errorf("embedded buildkitd: %w", err)
	}
	// A unix socket path must be short (108 bytes): keep it in the root only
	// when it fits.
	sock := filepath.Join(d.root, "buildkitd.sock")
	if len(sock) > 100 {
		dir, err := os.MkdirTemp("", "crossllb-sock-")
		if err != nil {
			return nil, errors.Join(fmt.Errorf("embedded buildkitd: %w", err), d.cleanup())
		}
		d.sockDir = dir
		sock = filepath.Join(dir, "s")
	}
	d.addr = "unix://" + sock
	args := []string{"--root", d.root, "--addr", d.addr, "--oci-worker=true", "--containerd-worker=false"}
	if cfg.Config != "" {
		args = append(args, "--config", cfg.Config)
	}
	d.cmd = exec.Command(bin, args...)
	d.cmd.Stdout = d.log
	d.cmd.Stderr = d.log
	// The daemon dies with us: no orphan holds the root after a crash.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		return nil, errors.Join(fmt.Errorf("starting %s: %w", bin, err), d.cleanup())
	}
	go func() { _ = d.cmd.Wait(); close(d.exited) }()

	deadline := time.Now().Add(cfg.StartTimeout)
	for {
		if err := d.probe(ctx); err == nil {
			return d, nil
		}
		select {
		case <-d.exited:
			return nil, errors.Join(fmt.Errorf("%s %v exited at start: %s", bin, args, d.log.String()), d.cleanup())
		case <-ctx.Done():
			return nil, errors.Join(ctx.Err(), d.stop())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, errors.Join(fmt.Errorf("%s did not answer on %s within %v; its output: %s", bin, d.addr, cfg.StartTimeout, d.log.String()), d.stop())
		}
	}
}

func (d *embeddedDaemon) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := client.New(ctx, d.addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.ListWorkers(ctx)
	return err
}

// stop ends the daemon (SIGTERM, then SIGKILL after 15s) and removes a
// temporary root.
func (d *embeddedDaemon) stop() error {
	if d.cmd.Process != nil {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(15 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.exited
		}
	}
	return d.cleanup()
}

func (d *embeddedDaemon) cleanup() error {
	if d.sockDir != "" {
		_ = os.RemoveAll(d.sockDir)
	}
	if !d.tmpRoot {
		return nil
	}
	if err := os.RemoveAll(d.root); err != nil {
		return fmt.Errorf("removing the embedded buildkitd's root %s: %w", d.root, err)
	}
	return nil
}
