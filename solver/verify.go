package solver

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"

	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
)

// VerifiedBinary records one binary checked against its target.
type VerifiedBinary struct {
	Platform ocispec.Platform `json:"-"`
	Path     string           `json:"path"`
	// Found describes the header read, e.g. "EM_AARCH64 ELFCLASS64 little-endian".
	Found string `json:"found"`
}

// verifyBinaries reads each path from the solved result (no container is
// run) and checks its header against target's toolchain row.
func verifyBinaries(ctx context.Context, ref gwclient.Reference, target ocispec.Platform, paths []string) ([]VerifiedBinary, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	id := platforms.Format(target)
	tc, err := platforms.ToolchainFor(target)
	if err != nil {
		return nil, fmt.Errorf("verifying %s: %w", id, err)
	}
	if tc.Binary != platforms.BinaryELF {
		return nil, fmt.Errorf("verifying %s: %s binaries are not checked yet: leave out WithVerify for this target", id, tc.Binary)
	}
	var out []VerifiedBinary
	for _, p := range paths {
		dt, err := ref.ReadFile(ctx, gwclient.ReadRequest{Filename: p})
		if err != nil {
			return nil, fmt.Errorf("verifying %s: reading %s from the image: %w", id, p, err)
		}
		h, err := tc.CheckELF(bytes.NewReader(dt))
		if err != nil {
			return nil, fmt.Errorf("verifying %s: %s: %w", id, p, err)
		}
		out = append(out, VerifiedBinary{Platform: target, Path: p, Found: describeELF(h)})
	}
	return out, nil
}

func describeELF(h platforms.ELFHeader) string {
	order := "little-endian"
	if h.Data == elf.ELFDATA2MSB {
		order = "big-endian"
	}
	s := fmt.Sprintf("%s %s %s", h.Machine, h.Class, order)
	switch h.Float {
	case platforms.FloatHard:
		s += " hard-float"
	case platforms.FloatSoft:
		s += " soft-float"
	}
	return s
}
