package solver

import (
	"context"
	"errors"
	"fmt"

	bk "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/attestations/sbom"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/result"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// DefaultSBOMGenerator is the scanner image BuildKit's Dockerfile frontend
// uses (Syft). No registry serves it on machines without Internet access:
// mirror it, or pass an image of your own to WithSBOM.
const DefaultSBOMGenerator = "docker/buildkit-syft-scanner:stable-1"

// WithSBOM attaches an SPDX SBOM to every platform's manifest, made by
// BuildKit's SBOM scanner protocol: generator is an image whose command
// reads the image's root filesystem at $BUILDKIT_SCAN_SOURCE and writes
// in-toto SPDX statements into $BUILDKIT_SCAN_DESTINATION
// (DefaultSBOMGenerator is Syft's). The scan runs on the build platform,
// over each target's solved filesystem.
func WithSBOM(generator string) BuildOption {
	return func(o *buildOptions) error {
		if generator == "" {
			return errors.New("sbom: empty generator image (solver.DefaultSBOMGenerator is Syft's)")
		}
		o.sbomGenerator = generator
		return nil
	}
}

// addSBOMs scans every target's solved root filesystem with the generator
// and adds the result to res as the target's SBOM attestation, as
// BuildKit's own frontends do.
func addSBOMs(ctx context.Context, gw gwclient.Client, generator string, build ocispec.Platform, ids []string, refs []gwclient.Reference, noCache bool, res *gwclient.Result) error {
	scan, err := sbom.CreateSBOMScanner(ctx, gw, generator, build, sourceresolver.Opt{
		ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &build},
	}, nil)
	if err != nil {
		return flatten(fmt.Errorf("sbom generator %s: %w", generator, err))
	}
	for i, ref := range refs {
		st, err := ref.ToState()
		if err != nil {
			return fmt.Errorf("sbom of %s: %w", ids[i], err)
		}
		var opts []bk.ConstraintsOpt
		if noCache {
			opts = append(opts, bk.IgnoreCache)
		}
		att, err := scan(ctx, ids[i], st, nil, opts...)
		if err != nil {
			return fmt.Errorf("sbom of %s: %w", ids[i], err)
		}
		solved, err := result.ConvertAttestation(&att, func(st *bk.State) (gwclient.Reference, error) {
			def, err := st.Marshal(ctx, bk.Platform(build))
			if err != nil {
				return nil, err
			}
			r, err := gw.Solve(ctx, gwclient.SolveRequest{Definition: def.ToPB(), Evaluate: true})
			if err != nil {
				return nil, err
			}
			return r.SingleRef()
		})
		if err != nil {
			return fmt.Errorf("sbom of %s with %s: %w", ids[i], generator, err)
		}
		res.AddAttestation(ids[i], *solved)
	}
	return nil
}
