package solver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	// Address schemes beyond unix:// and tcp://, registered with BuildKit's
	// connection helpers.
	_ "github.com/moby/buildkit/client/connhelper/dockercontainer"
	_ "github.com/moby/buildkit/client/connhelper/kubepod"
	_ "github.com/moby/buildkit/client/connhelper/ssh"
)

// DefaultSocket is where buildkitd listens when started without --addr.
const DefaultSocket = "unix:///run/buildkit/buildkitd.sock"

// Client is a connection to one buildkitd. Close it when done: a Client that
// started its own buildkitd stops it on Close.
type Client struct {
	bk      *client.Client
	addr    string
	daemon  *embeddedDaemon
	version string // what the daemon reported (DaemonVersion)
}

type connectOptions struct {
	caCert, cert, key, serverName string
	noEmbedded                    bool
	embedded                      EmbeddedConfig
	probeTimeout                  time.Duration
	minVersion                    string
	lookupEnv                     func(string) (string, bool)
	// tlsTCPOnly ignores the TLS options for addresses other than tcp://
	// (ConnectFleet: one set of options for mixed nodes).
	tlsTCPOnly bool
}

// ConnectOption configures Connect.
type ConnectOption func(*connectOptions) error

// WithTLS sets the CA certificate, client certificate and key (file paths)
// for tcp:// addresses; serverName overrides the name checked in the
// server's certificate (empty: the address's host). cert and key go
// together.
func WithTLS(caCert, cert, key, serverName string) ConnectOption {
	return func(o *connectOptions) error {
		if (cert == "") != (key == "") {
			return fmt.Errorf("TLS: cert %q and key %q go together: give both or neither", cert, key)
		}
		for _, f := range []string{caCert, cert, key} {
			if f == "" {
				continue
			}
			if _, err := os.Stat(f); err != nil {
				return fmt.Errorf("TLS: %w", err)
			}
		}
		o.caCert, o.cert, o.key, o.serverName = caCert, cert, key, serverName
		return nil
	}
}

// WithoutEmbedded makes Connect fail instead of starting its own buildkitd
// when no address is given and none is found.
func WithoutEmbedded() ConnectOption {
	return func(o *connectOptions) error { o.noEmbedded = true; return nil }
}

// WithEmbedded configures the buildkitd that Connect starts when no address
// is given and none is found.
func WithEmbedded(cfg EmbeddedConfig) ConnectOption {
	return func(o *connectOptions) error {
		if cfg.Binary != "" {
			if _, err := os.Stat(cfg.Binary); err != nil {
				return fmt.Errorf("embedded buildkitd: %w", err)
			}
		}
		o.embedded = cfg
		return nil
	}
}

// WithProbeTimeout bounds how long Connect waits for a daemon to answer
// (default 10s).
func WithProbeTimeout(d time.Duration) ConnectOption {
	return func(o *connectOptions) error {
		if d <= 0 {
			return fmt.Errorf("probe timeout %v: must be positive", d)
		}
		o.probeTimeout = d
		return nil
	}
}

// withEnv replaces os.LookupEnv, for tests.
func withEnv(lookup func(string) (string, bool)) ConnectOption {
	return func(o *connectOptions) error { o.lookupEnv = lookup; return nil }
}

// Connect connects to buildkitd at addr and checks that it answers and is
// at least MinDaemonVersion (see WithMinDaemonVersion).
//
// addr takes BuildKit's forms: unix:///path, tcp://host:port (with WithTLS),
// docker-container://name, kube-pod://name[?namespace=ns], ssh://user@host.
// An empty addr means, in order: $BUILDKIT_HOST; the default socket
// (unix:///run/buildkit/buildkitd.sock) when something answers there; a
// private buildkitd that Connect starts itself and Close stops (see
// EmbeddedConfig; WithoutEmbedded turns this off). When nothing works, the
// error says what was tried.
func Connect(ctx context.Context, addr string, opts ...ConnectOption) (*Client, error) {
	o := connectOptions{probeTimeout: 10 * time.Second, minVersion: MinDaemonVersion, lookupEnv: os.LookupEnv}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("connecting to buildkitd: %w", err)
		}
	}
	if addr != "" {
		return dial(ctx, addr, &o)
	}
	if env, ok := o.lookupEnv("BUILDKIT_HOST"); ok && env != "" {
		c, err := dial(ctx, env, &o)
		if err != nil {
			return nil, fmt.Errorf("%w (from BUILDKIT_HOST: unset it to use the default socket or a private buildkitd)", err)
		}
		return c, nil
	}
	var tried []string
	if sock := strings.TrimPrefix(DefaultSocket, "unix://"); fileExists(sock) {
		c, err := dial(ctx, DefaultSocket, &o)
		if err == nil {
			return c, nil
		}
		tried = append(tried, err.Error())
	} else {
		tried = append(tried, DefaultSocket+": no socket")
	}
	if o.noEmbedded {
		return nil, fmt.Errorf("no buildkitd found: tried BUILDKIT_HOST (unset); %s; start buildkitd and set BUILDKIT_HOST to its address (unix:///PATH, tcp://HOST:PORT, docker-container://NAME), or pass the address", strings.Join(tried, "; "))
	}
	d, err := startEmbedded(ctx, o.embedded)
	if err != nil {
		return nil, fmt.Errorf("no buildkitd found: tried BUILDKIT_HOST (unset); %s; starting a private buildkitd: %w", strings.Join(tried, "; "), err)
	}
	c, err := dial(ctx, d.addr, &o)
	if err != nil {
		return nil, errors.Join(err, d.stop())
	}
	c.daemon = d
	return c, nil
}

// schemes are the address schemes Connect takes: BuildKit's own dialers
// (unix, tcp) and the connection helpers imported above.
var schemes = []string{"unix", "tcp", "docker-container", "kube-pod", "ssh"}

// checkScheme refuses an address whose scheme is not one of schemes
// before BuildKit reads it as a host name ("garbage://x" would become a
// DNS lookup of "tcp///x").
func checkScheme(addr string) error {
	scheme, _, ok := strings.Cut(addr, "://")
	if ok && slices.Contains(schemes, scheme) {
		return nil
	}
	what := fmt.Sprintf("scheme %q is not supported", scheme)
	if !ok {
		what = "no scheme"
	}
	return fmt.Errorf("buildkitd address %q: %s (want %s://...; e.g. unix:///run/buildkit/buildkitd.sock, tcp://host:1234, docker-container://buildx_buildkit_default, kube-pod://buildkitd-0?namespace=buildkit)",
		addr, what, strings.Join(schemes, "://, ")+"://")
}

func dial(ctx context.Context, addr string, o *connectOptions) (*Client, error) {
	if err := checkScheme(addr); err != nil {
		return nil, err
	}
	var copts []client.ClientOpt
	tls := o.caCert != "" || o.serverName != "" || o.cert != ""
	if tls && !strings.HasPrefix(addr, "tcp://") {
		if !o.tlsTCPOnly {
			return nil, fmt.Errorf("connecting to buildkitd at %s: TLS options apply to tcp:// addresses only", addr)
		}
		// A fleet's TLS options are for its tcp:// nodes; every other
		// option (the version floor, the probe timeout) still applies.
		plain := *o
		plain.caCert, plain.cert, plain.key, plain.serverName = "", "", "", ""
		o = &plain
	}
	if o.caCert != "" || o.serverName != "" {
		copts = append(copts, client.WithServerConfig(o.serverName, o.caCert))
	}
	if o.cert != "" {
		copts = append(copts, client.WithCredentials(o.cert, o.key))
	}
	c, err := client.New(ctx, addr, copts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to buildkitd at %s: %w", addr, err)
	}
	pctx, cancel := context.WithTimeout(ctx, o.probeTimeout)
	defer cancel()
	ws, err := c.ListWorkers(pctx)
	if err == nil && len(ws) == 0 {
		err = errors.New("the daemon has no workers")
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("connecting to buildkitd at %s: %w (is buildkitd running and listening there? start it, or set BUILDKIT_HOST to the address it listens on)", addr, err)
	}
	cl := &Client{bk: c, addr: addr}
	if err := cl.checkDaemonVersion(pctx, o.minVersion); err != nil {
		c.Close()
		return nil, err
	}
	return cl, nil
}

// Address is the daemon's address (for an embedded daemon, its socket).
func (c *Client) Address() string { return c.addr }

// BuildKit returns the underlying BuildKit client, for what this package
// does not cover.
func (c *Client) BuildKit() *client.Client { return c.bk }

// Close closes the connection and stops the buildkitd that Connect started,
// if any.
func (c *Client) Close() error {
	err := c.bk.Close()
	if c.daemon != nil {
		err = errors.Join(err, c.daemon.stop())
	}
	return err
}

// Worker is what one of the daemon's workers offers.
type Worker struct {
	ID string
	// Platforms lists what the worker runs; the first is its native
	// platform, the others run under emulation (QEMU binfmt_misc).
	Platforms []ocispec.Platform
}

// Workers lists the daemon's workers.
func (c *Client) Workers(ctx context.Context) ([]Worker, error) {
	ws, err := c.bk.ListWorkers(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the workers of buildkitd at %s: %w", c.addr, err)
	}
	out := make([]Worker, 0, len(ws))
	for _, w := range ws {
		out = append(out, Worker{ID: w.ID, Platforms: w.Platforms})
	}
	return out, nil
}

// BuildPlatform is the platform compile stages run on: the native platform
// of the daemon's first worker, never the client's runtime.GOARCH.
func (c *Client) BuildPlatform(ctx context.Context) (ocispec.Platform, error) {
	ws, err := c.Workers(ctx)
	if err != nil {
		return ocispec.Platform{}, err
	}
	if len(ws) == 0 || len(ws[0].Platforms) == 0 {
		return ocispec.Platform{}, fmt.Errorf("buildkitd at %s reports no worker platforms", c.addr)
	}
	return ws[0].Platforms[0], nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
