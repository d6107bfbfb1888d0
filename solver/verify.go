package solver

import (
	"bytes"
	"context"
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
// run) and checks its header against target's toolchain row: ELF machine,
// class, byte order and ARM float ABI; PE machine; Mach-O CPU.
func verifyBinaries(ctx context.Context, ref gwclient.Reference, target ocispec.Platform, paths []string) ([]VerifiedBinary, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	id := platforms.Format(target)
	tc, err := platforms.ToolchainFor(target)
	if err != nil {
		return nil, fmt.Errorf("verifying %s: %w", id, err)
	}
	var out []VerifiedBinary
	for _, p := range paths {
		dt, err := ref.ReadFile(ctx, gwclient.ReadRequest{Filename: p})
		if err != nil {
			return nil, fmt.Errorf("verifying %s: reading %s from the image: %w", id, p, err)
		}
		found, err := tc.CheckBinary(bytes.NewReader(dt))
		if err != nil {
			return nil, fmt.Errorf("verifying %s: %s: %w", id, p, err)
		}
		out = append(out, VerifiedBinary{Platform: target, Path: p, Found: found})
	}
	return out, nil
}
