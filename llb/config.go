package llb

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	cplatforms "github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// defaultPathEnv is the PATH a Dockerfile gives a stage built FROM scratch
// on Linux and other Unix systems.
const defaultPathEnv = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ImageSpec is what the caller sets in an image config on top of what the
// base image gives (see [ImageConfig]).
type ImageSpec struct {
	// Entrypoint and Cmd: nil inherits the base's; a non-nil empty slice
	// clears it. Setting Entrypoint without Cmd clears an inherited Cmd,
	// as a Dockerfile ENTRYPOINT does.
	Entrypoint, Cmd []string
	// Env holds KEY=VALUE entries; a key of the base's Env is replaced
	// in place, a new key is appended.
	Env []string
	// User and WorkingDir replace the base's when not empty.
	User, WorkingDir string
	// ExposedPorts are "8080/tcp", "53/udp" or "9000" (tcp implied),
	// added to the base's.
	ExposedPorts []string
	// Labels are merged into the base's; these win on a shared key.
	Labels map[string]string
	// Created is the image's creation time; nil leaves it unset for the
	// solver or caller to fill.
	Created *time.Time
}

// Validate reports the first malformed field of s, naming it and its value.
// ImageConfig does not validate: call Validate where the spec comes from
// user input. GoImage validates its spec.
func (s ImageSpec) Validate() error {
	for _, kv := range s.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t\n") {
			return fmt.Errorf("image spec: Env entry %q: want KEY=VALUE", kv)
		}
	}
	if s.WorkingDir != "" && !path.IsAbs(s.WorkingDir) {
		return fmt.Errorf("image spec: WorkingDir %q is not an absolute path", s.WorkingDir)
	}
	for _, p := range s.ExposedPorts {
		if _, err := normalizePort(p); err != nil {
			return fmt.Errorf("image spec: ExposedPorts entry %q: %w", p, err)
		}
	}
	for k := range s.Labels {
		if k == "" {
			return fmt.Errorf("image spec: Labels has an empty key")
		}
	}
	return nil
}

// normalizePort turns "9000" into "9000/tcp" and lower-cases the protocol.
func normalizePort(p string) (string, error) {
	num, proto, ok := strings.Cut(p, "/")
	if !ok {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	switch proto {
	case "tcp", "udp", "sctp":
	default:
		return p, fmt.Errorf("protocol %q is not tcp, udp or sctp", proto)
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != num {
		return p, fmt.Errorf("port %q is not a number from 1 to 65535", num)
	}
	return num + "/" + proto, nil
}

// ImageConfig returns the image config for base.Platform: OS, architecture
// and variant from the platform (normalised: "arm" is "arm/v7"); the
// config inherited from the base as a Dockerfile stage inherits it (Env,
// User, WorkingDir, Entrypoint, Cmd, ExposedPorts, Volumes, Labels,
// StopSignal); then spec applied on top. A scratch base starts, as a
// Dockerfile does, from PATH set to the usual default (not on Windows) and
// WorkingDir "/".
//
// The base's history is kept, so BuildKit's image exporter lines it up
// with the base's layers and appends entries for the new ones; RootFS is
// left for the exporter to fill. The base's creation time and author are
// dropped. ImageConfig is pure and does not validate spec (see
// [ImageSpec.Validate]): malformed Env entries are skipped and malformed
// ports kept as given.
func ImageConfig(base Base, spec ImageSpec) ocispec.Image {
	p := cplatforms.Normalize(base.Platform)
	img := ocispec.Image{
		Platform: ocispec.Platform{
			OS:           p.OS,
			Architecture: p.Architecture,
			Variant:      p.Variant,
			OSVersion:    p.OSVersion,
			OSFeatures:   slices.Clone(p.OSFeatures),
		},
		RootFS:  ocispec.RootFS{Type: "layers"},
		History: slices.Clone(base.Config.History),
		Config:  cloneImageConfig(base.Config.Config),
	}
	if base.IsScratch() {
		img.History = nil
		img.Config = ocispec.ImageConfig{WorkingDir: "/"}
		if p.OS != "windows" {
			img.Config.Env = []string{"PATH=" + defaultPathEnv}
		}
	}
	if spec.Created != nil {
		t := spec.Created.UTC()
		img.Created = &t
	}
	cfg := &img.Config
	for _, kv := range spec.Env {
		cfg.Env = setEnv(cfg.Env, kv)
	}
	if spec.User != "" {
		cfg.User = spec.User
	}
	if spec.WorkingDir != "" {
		cfg.WorkingDir = spec.WorkingDir
	}
	if spec.Entrypoint != nil {
		cfg.Entrypoint = slices.Clone(spec.Entrypoint)
		if spec.Cmd == nil {
			cfg.Cmd = nil
		}
	}
	if spec.Cmd != nil {
		cfg.Cmd = slices.Clone(spec.Cmd)
	}
	if len(cfg.Entrypoint) == 0 {
		cfg.Entrypoint = nil
	}
	if len(cfg.Cmd) == 0 {
		cfg.Cmd = nil
	}
	for _, port := range spec.ExposedPorts {
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		norm, _ := normalizePort(port)
		cfg.ExposedPorts[norm] = struct{}{}
	}
	if len(spec.Labels) > 0 {
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		maps.Copy(cfg.Labels, spec.Labels)
	}
	return img
}

// setEnv replaces the entry of env with kv's key in place, or appends kv.
func setEnv(env []string, kv string) []string {
	k, _, ok := strings.Cut(kv, "=")
	if !ok || k == "" {
		return env
	}
	for i, e := range env {
		if ek, _, _ := strings.Cut(e, "="); ek == k {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}

func cloneImageConfig(c ocispec.ImageConfig) ocispec.ImageConfig {
	c.Env = slices.Clone(c.Env)
	c.Entrypoint = slices.Clone(c.Entrypoint)
	c.Cmd = slices.Clone(c.Cmd)
	c.ExposedPorts = maps.Clone(c.ExposedPorts)
	c.Volumes = maps.Clone(c.Volumes)
	c.Labels = maps.Clone(c.Labels)
	return c
}
