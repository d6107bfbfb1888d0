package solver

import (
	"context"
	"fmt"
	"path"

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

	// What the image gives an ELF binary to start (see WithVerify):
	// Static says it needs nothing. Interpreter is its PT_INTERP;
	// Libraries maps each library it needs, directly or through another
	// library, to where the image's loader finds it. GlibcNeeded is the
	// highest GLIBC_ version it needs, ImageGlibc the highest the image's
	// libc.so.6 defines ("2.36").
	Static      bool              `json:"static"`
	Interpreter string            `json:"interpreter,omitempty"`
	Libraries   map[string]string `json:"libraries,omitempty"`
	GlibcNeeded string            `json:"glibcNeeded,omitempty"`
	ImageGlibc  string            `json:"imageGlibc,omitempty"`
}

// verifyBinaries reads each path from the solved result (no container is
// run) and checks its header against target's toolchain row: ELF machine,
// class, byte order and ARM float ABI; PE machine; Mach-O CPU. An ELF
// binary is then checked against the image it is in (checkRuns): its
// interpreter, libraries and glibc versions; with static, that it needs
// none.
func verifyBinaries(ctx context.Context, ref gwclient.Reference, target ocispec.Platform, paths []string, static bool) ([]VerifiedBinary, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	id := platforms.Format(target)
	tc, err := platforms.ToolchainFor(target)
	if err != nil {
		return nil, fmt.Errorf("verifying %s: %w", id, err)
	}
	var out []VerifiedBinary
	img := newRefFS(ref) // shared: binaries need the same libraries
	for _, p := range paths {
		p = executablePath(target, p)
		st, err := ref.StatFile(ctx, gwclient.StatRequest{Path: p})
		if err != nil {
			return nil, fmt.Errorf("verifying %s: reading %s from the image: %w", id, p, err)
		}
		r := img.readAt(ctx, p, st.Size)
		found, err := tc.CheckBinary(r)
		if err != nil {
			return nil, fmt.Errorf("verifying %s: %s: %w", id, p, err)
		}
		v := VerifiedBinary{Platform: target, Path: p, Found: found}
		if tc.Binary == platforms.BinaryELF {
			rc, err := checkRuns(ctx, img, tc, p, r, static)
			if err != nil {
				// checkRuns's errors start with the platform.
				return nil, fmt.Errorf("verifying %w", err)
			}
			v.Static, v.Interpreter, v.Libraries, v.GlibcNeeded, v.ImageGlibc = rc.Static, rc.Interpreter, rc.Libraries, rc.GlibcNeeded, rc.ImageGlibc
		}
		out = append(out, v)
	}
	return out, nil
}

// executablePath is the file path names on target: on windows, a name
// with no extension is the ".exe".
func executablePath(target ocispec.Platform, p string) string {
	if target.OS == "windows" && path.Ext(p) == "" {
		return p + ".exe"
	}
	return p
}
