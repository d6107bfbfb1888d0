package solver

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	bk "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/crossllb/crossllb/platforms"
)

// graphs is a build's phase 1: every target's graph, marshalled and
// checked before anything is solved.
type graphs struct {
	defs     []*bk.Definition
	imgs     []ocispec.Image
	bases    []ocispec.Image // as Target.SetBase recorded them; zero: none
	emulated []EmulatedStep
}

// graphs calls fn for every target (concurrently), marshals each graph and
// checks them all, so that a build that cannot succeed is refused whole,
// up front: a graph too large to send, a local source no WithLocal
// provides, a step for a platform the daemon cannot run, and (with
// EmulationForbid) an emulated step not marked as meant to be.
func (o *buildOptions) graphs(ctx context.Context, targets []target, fn TargetFunc, build ocispec.Platform, resolver bk.ImageMetaResolver, workers []Worker) (*graphs, error) {
	n := len(targets)
	g := &graphs{defs: make([]*bk.Definition, n), imgs: make([]ocispec.Image, n), bases: make([]ocispec.Image, n)}
	steps := make([][]EmulatedStep, len(targets))
	eg, ectx := errgroup.WithContext(ctx)
	for i, t := range targets {
		p := t.platform
		eg.Go(func() error {
			st, img, err := fn(ectx, Target{Platform: p, BuildPlatform: build, Resolver: resolver, base: &g.bases[i]})
			if err != nil {
				return fmt.Errorf("building %s: %w", t.id, err)
			}
			mopts := []bk.ConstraintsOpt{bk.Platform(p)}
			if o.noCache {
				mopts = append(mopts, bk.IgnoreCache)
			}
			def, err := st.Marshal(ectx, mopts...)
			if err != nil {
				return fmt.Errorf("building %s: %w", t.id, err)
			}
			if err := checkDefinitionSize(t.id, def); err != nil {
				return err
			}
			if err := checkLocals(t.id, def, o.locals); err != nil {
				return err
			}
			g.defs[i], g.imgs[i] = def, img
			o.vertices.add(i, def)
			steps[i], err = emulatedSteps(def, p, build)
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	g.emulated = slices.Concat(steps...)
	if err := runnable(g.emulated, workers); err != nil {
		return nil, err
	}
	if o.emulation == EmulationForbid {
		if bad := forbiddenSteps(g.emulated); len(bad) > 0 {
			return nil, fmt.Errorf("%d step(s) would run under emulation on %s, and the emulation policy is forbid (run them on the build platform: llb.WithBuildTools does so for the runtime stage's users and packages; or mark them as meant to be emulated: llb.Emulated(option) for a runtime option, solver.AllowEmulation() for an bk.State.Run):\n  %s",
				len(bad), platforms.Format(build), strings.Join(bad, "\n  "))
		}
	}
	return g, nil
}

// localScheme is the identifier prefix of a local source op (bk.Local).
const localScheme = "local://"

// checkLocals refuses a graph that reads a local source (bk.Local(name))
// that no WithLocal provides: the daemon would fail it only once the
// source is solved, with "no local sources enabled" or the like.
func checkLocals[V any](id string, def *bk.Definition, given map[string]V) error {
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			return fmt.Errorf("building %s: decoding the definition: %w", id, err)
		}
		name, ok := strings.CutPrefix(op.GetSource().GetIdentifier(), localScheme)
		if !ok {
			continue
		}
		if _, ok := given[name]; ok {
			continue
		}
		have := "this build has none"
		if len(given) > 0 {
			have = fmt.Sprintf("this build has %q", slices.Sorted(maps.Keys(given)))
		}
		return fmt.Errorf("building %s: the graph reads the local %q (bk.Local(%q)), and no option provides it (%s): pass solver.WithLocal(%q, DIR) to Build",
			id, name, name, have, name)
	}
	return nil
}
