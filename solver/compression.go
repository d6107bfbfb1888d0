package solver

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/buildkit/exporter/containerimage/exptypes"

	"github.com/crossllb/crossllb/internal/keyvalue"
)

// Compression is how BuildKit's exporters compress the image's layers
// (buildx's compression, compression-level and force-compression).
type Compression struct {
	// Type is "gzip" (the default when empty), "zstd" or "uncompressed".
	Type string
	// Level is the compression level: 0-9 for gzip, 0-22 for zstd. Nil is
	// crossllb's default: 1 for gzip, as go-containerregistry (and so ko)
	// compresses; BuildKit's own default for zstd.
	Level *int
	// Force recompresses layers that exist compressed another way, such
	// as a base image's gzip layers under zstd.
	Force bool
}

// DefaultGzipLevel is the gzip level layers are compressed at when
// Compression.Level is nil: gzip's fastest, as go-containerregistry
// writes layers. BuildKit's default (6) took 0.48-0.62 s to export
// crane's binary layer, level 1 0.17-0.20 s, for a layer 6% larger.
const DefaultGzipLevel = 1

// WithCompression sets how the image's layers are compressed, for every
// output of the build. Without it layers are gzip at DefaultGzipLevel.
func WithCompression(c Compression) BuildOption {
	return func(o *buildOptions) error {
		if err := c.validate(); err != nil {
			return err
		}
		o.compression = c
		return nil
	}
}

// ParseCompression reads a compression as a command line gives it:
// "zstd", or type=zstd[,level=3][,force=true] (buildx's compression,
// compression-level and force-compression). The type may be left out
// (level=9 is gzip at level 9).
func ParseCompression(s string) (Compression, error) {
	var c Compression
	if !strings.Contains(s, "=") {
		c.Type = strings.TrimSpace(s)
		return c, c.validate()
	}
	kv, err := keyvalue.Map(s)
	if err != nil {
		return c, fmt.Errorf("compression %q: %w", s, err)
	}
	for k, v := range kv {
		switch k {
		case "type":
			c.Type = v
		case "level":
			n, err := strconv.Atoi(v)
			if err != nil {
				return c, fmt.Errorf("compression %q: level=%q is not a whole number", s, v)
			}
			c.Level = &n
		case "force":
			if c.Force, err = strconv.ParseBool(v); err != nil {
				return c, fmt.Errorf("compression %q: force=%q is not true or false", s, v)
			}
		default:
			return c, fmt.Errorf("compression %q: unknown key %q (want type, level, force)", s, k)
		}
	}
	return c, c.validate()
}

func (c Compression) validate() error {
	max := 0
	switch c.Type {
	case "", "gzip":
		max = 9
	case "zstd":
		max = 22
	case "uncompressed":
		if c.Level != nil {
			return fmt.Errorf("compression %q with level %d: uncompressed layers have no level; drop the level", c.Type, *c.Level)
		}
		return nil
	default:
		return fmt.Errorf("compression %q: unknown (want gzip, zstd or uncompressed)", c.Type)
	}
	if c.Level != nil && (*c.Level < 0 || *c.Level > max) {
		return fmt.Errorf("compression %s level %d: want 0 to %d", c.typ(), *c.Level, max)
	}
	return nil
}

func (c Compression) typ() string {
	if c.Type == "" {
		return "gzip"
	}
	return c.Type
}

// attrs sets c's exporter attributes.
func (c Compression) attrs(attrs map[string]string) {
	attrs[string(exptypes.OptKeyLayerCompression)] = c.typ()
	level := c.Level
	if level == nil && c.typ() == "gzip" {
		l := DefaultGzipLevel
		level = &l
	}
	if level != nil {
		attrs[string(exptypes.OptKeyCompressionLevel)] = strconv.Itoa(*level)
	}
	if c.Force {
		attrs[string(exptypes.OptKeyForceCompression)] = "true"
	}
}
