package solver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moby/buildkit/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/crossllb/crossllb/platforms"
)

// WithNodeRetries lets a fleet build retry a target on another node, up to
// n times, when the node building it fails (it stops answering). A target
// whose build fails on a node that still answers is not retried: the
// failure is the build's, and another node would fail the same way.
func WithNodeRetries(n int) BuildOption {
	return func(o *buildOptions) error {
		if n < 0 {
			return fmt.Errorf("node retries %d: want 0 or more", n)
		}
		o.nodeRetries = n
		return nil
	}
}

// probeTimeout bounds the check of whether a failed node still answers.
const probeTimeout = 5 * time.Second

// Build builds every target on the node Plan picks for it, each target in
// its own BuildKit build, concurrently, and writes ONE image index to each
// output, as Client.Build does:
//
//   - registry outputs: every node pushes its manifests by digest, untagged;
//     the index is assembled from their descriptors and pushed last, so no
//     tag ever points at a partial index;
//   - OCI tar and directory outputs: every node's layout is received,
//     merged (blobs deduplicated) into one layout with one index, and moved
//     into place once every target has succeeded.
//
// The index lists the image manifests in the targets' order, then the
// attestation manifests in the same order: with WithSourceDateEpoch, a
// build split over nodes has the same index digest as a single-node build.
// Cache exports (WithCacheTo) are per target, so no node overwrites
// another's; WithCacheFrom imports every target's. A node that fails
// fails the build with its address and the target; nothing is written to
// the outputs (see WithNodeRetries). The Result's Plan says where each
// target was built.
func (f *Fleet) Build(ctx context.Context, targets []ocispec.Platform, fn TargetFunc, opts ...BuildOption) (*Result, error) {
	o, ts, err := prepare(targets, fn, opts)
	if err != nil {
		return nil, err
	}
	nodes, err := f.describe(ctx)
	if err != nil {
		return nil, err
	}
	plan := schedule(targetPlatforms(ts), nodes)
	o.logPlan(ctx, plan)
	byAddr := map[string]*Client{}
	for _, c := range f.nodes {
		byAddr[c.addr] = c
	}

	asm, err := newAssembly(o, ts)
	if err != nil {
		return nil, err
	}
	defer asm.cleanup()

	statuses := make(chan *client.SolveStatus)
	events := newEventQueue(o.events)
	defer events.finish(ctx) // on every return: no event after Build returns
	view, err := o.showProgress(ctx, statuses)
	if err != nil {
		return nil, err
	}
	var relays sync.WaitGroup

	var mu sync.Mutex // guards plan and dead
	dead := map[string]bool{}
	parts := make([]part, len(ts))
	// A target that fails does not cancel the others (see Client.Build:
	// a step cancelled mid-run stays in use on buildkitd v0.33.1); the
	// build fails once every target has ended. The caller's ctx still
	// cancels everything at once.
	var eg errgroup.Group
	for i, t := range ts {
		eg.Go(func() error {
			for attempt := 0; ; attempt++ {
				mu.Lock()
				a := plan[i]
				mu.Unlock()
				po, err := asm.partOptions(o, &t)
				if err != nil {
					return err
				}
				po.part.fleet = true
				if events != nil {
					po.vertices = newVertexTargets([]ocispec.Platform{t.platform}) // this node's build's
				}
				ch := make(chan *client.SolveStatus)
				// The events carry the node's own digests (those of the
				// target's definition) and its address; the display gets
				// digests of the relay's.
				tagged := events.tee(a.Node, po.vertices, ch)
				relays.Add(1)
				go func() {
					defer relays.Done()
					relay(a.Node+" "+t.id, tagged, statuses)
				}()
				res, err := byAddr[a.Node].build(ctx, ts[i:i+1], fn, po, ch)
				if err == nil {
					parts[i] = part{res: res}
					return nil
				}
				if ctx.Err() != nil {
					return fmt.Errorf("node %s: building %s: %w", a.Node, t.id, context.Cause(ctx))
				}
				err = fmt.Errorf("node %s: building %s: %w", a.Node, t.id, err)
				if attempt >= o.nodeRetries || byAddr[a.Node].answers(ctx) {
					return err
				}
				mu.Lock()
				dead[a.Node] = true
				next, ok := reschedule(a, nodes, dead, plan)
				if ok {
					plan[i] = next
					o.logRetry(ctx, a, next.Node, err)
				}
				mu.Unlock()
				if !ok {
					return fmt.Errorf("%w (no other node is left to retry on)", err)
				}
			}
		})
	}
	err = eg.Wait()
	relays.Wait()
	close(statuses)
	if err != nil && ctx.Err() != nil {
		_ = view.wait(nil) // the cancel is the error to return
		return nil, fmt.Errorf("building %s: %w", strings.Join(targetIDs(ts), ", "), context.Cause(ctx))
	}
	if err := view.wait(err); err != nil {
		return nil, err
	}

	res := &Result{Plan: plan}
	for _, p := range parts {
		res.Emulated = append(res.Emulated, p.res.Emulated...)
		res.Verified = append(res.Verified, p.res.Verified...)
	}
	if builds := uniqueBuilds(plan); len(builds) == 1 {
		res.BuildPlatform = builds[0]
	}
	if len(o.outputs) > 0 {
		if err := asm.assemble(ctx, o, parts, res); err != nil {
			return nil, err
		}
	}
	return o.finish(ctx, res)
}

// answers reports whether the node still answers, within probeTimeout.
func (c *Client) answers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	_, err := c.bk.ListWorkers(ctx)
	return err == nil
}

func uniqueBuilds(plan Plan) []ocispec.Platform {
	var out []ocispec.Platform
	for _, a := range plan {
		if !slices.ContainsFunc(out, func(p ocispec.Platform) bool { return platforms.Equal(p, a.Build) }) {
			out = append(out, a.Build)
		}
	}
	return out
}

// partsDirFor picks where the nodes' layouts are received: beside the OCI
// directory output when there is one (the merged layout is renamed into
// place from there), else beside the first tar.
func partsDirFor(outs []Output) string {
	for _, out := range outs {
		if out.Kind == KindOCIDir {
			return filepath.Dir(out.Dest)
		}
	}
	for _, out := range outs {
		if out.Kind == KindOCITar {
			return filepath.Dir(out.Dest)
		}
	}
	return os.TempDir()
}
