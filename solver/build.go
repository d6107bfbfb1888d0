package solver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/moby/buildkit/client"
	bk "github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/util/progress/progressui"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/crossllb/crossllb/platforms"
)

// Target is what a TargetFunc builds: one platform of the image index.
type Target struct {
	// Platform is the target platform of this image manifest.
	Platform ocispec.Platform
	// BuildPlatform is the daemon's native platform: run compile steps
	// there (bk.Platform(t.BuildPlatform)) so that nothing compiles under
	// emulation. (Result.BuildPlatform names the same platform.)
	BuildPlatform ocispec.Platform
	// Resolver resolves image configs through the daemon (registry mirrors
	// and credentials apply).
	Resolver bk.ImageMetaResolver

	base *ocispec.Image // where SetBase records the base, during Build
}

// SetBase names the image the target's root filesystem starts from:
// config is that image's config as resolved (llb.Base.Config). Its layers
// must be the first of the state's, and its history the first of the
// config fn returns, as llb.RuntimeStage and llb.ImageConfig make them.
// BuildKit's exporter then knows which layers are the base's. Under a
// source date epoch (WithSourceDateEpoch) it exports them as they are, so
// that the image shares them with its base, where it would otherwise
// rewrite every layer's timestamps on every export; and the base's history
// keeps its times. Optional: without it, the epoch applies to every layer.
// BuildKit compares the layers' diff IDs, so a wrong base only costs the
// rewrite it would have saved. It does nothing on a Target made outside
// Build.
func (t Target) SetBase(config ocispec.Image) {
	if t.base != nil {
		*t.base = config
	}
}

// TargetFunc returns the graph of one target's image (its root filesystem)
// and its image config. Build calls it once per target, concurrently, inside
// one BuildKit build. Ops without an explicit platform default to the
// target's.
type TargetFunc func(ctx context.Context, t Target) (bk.State, ocispec.Image, error)

// Build builds every target in one BuildKit build and lets BuildKit's
// exporter write ONE image index with a manifest per target to each output.
// The build platform handed to fn is the daemon's, not the client's.
// Outputs are written to temporary paths beside their destinations and
// moved into place only once BuildKit has exported them all: a build that
// fails leaves nothing at a destination. (Moving several outputs into place
// is not atomic as a whole: if moving the second fails, the first stays.)
func (c *Client) Build(ctx context.Context, targets []ocispec.Platform, fn TargetFunc, opts ...BuildOption) (*Result, error) {
	o, ts, err := prepare(targets, fn, opts)
	if err != nil {
		return nil, err
	}
	ch := make(chan *client.SolveStatus)
	events := newEventQueue(o.events)
	defer events.finish(ctx) // on every return: no event after Build returns
	if events != nil {
		o.vertices = newVertexTargets(targetPlatforms(ts))
	}
	view, err := o.showProgress(ctx, events.tee(c.addr, o.vertices, ch))
	if err != nil {
		close(ch)
		return nil, err
	}
	var res *Result
	if len(o.outputs) > 0 && !o.attestationsInIndex {
		res, err = c.buildAssembled(ctx, ts, fn, o, ch)
	} else {
		res, err = c.build(ctx, ts, fn, o, ch)
	}
	// build closed ch: the display ends once it has shown everything.
	if err := view.wait(err); err != nil {
		return nil, err
	}
	return o.finish(ctx, res)
}

// printWarnings shows the build's warnings (such as EmulationWarn's) after
// the progress, as buildx does: progressui returns them rather than
// printing them. rawjson carries them in its stream already.
func printWarnings(o *buildOptions, warnings []client.VertexWarning) {
	if len(warnings) == 0 || o.progressMode == progressui.RawJSONMode {
		return
	}
	fmt.Fprintf(o.progressOut, "%d warning(s):\n", len(warnings))
	for _, w := range warnings {
		fmt.Fprintf(o.progressOut, " - %s\n", w.Short)
	}
}

// prepare checks a build's request: its options, its targets (returning
// their IDs) and its TargetFunc.
func prepare(targets []ocispec.Platform, fn TargetFunc, opts []BuildOption) (*buildOptions, []target, error) {
	o, err := newBuildOptions(opts)
	if err != nil {
		return nil, nil, err
	}
	ts, err := newTargets(targets)
	if err != nil {
		return nil, nil, err
	}
	if fn == nil {
		return nil, nil, errors.New("build: nil TargetFunc")
	}
	return o, ts, nil
}

// buildAssembled is build, exporting to parts of its own and assembling
// the index itself (as a fleet does) so that it can leave attestation
// manifests out of the index, which BuildKit's exporter always puts in.
func (c *Client) buildAssembled(ctx context.Context, ts []target, fn TargetFunc, o *buildOptions, ch chan *client.SolveStatus) (*Result, error) {
	asm, err := newAssembly(o, ts)
	if err != nil {
		close(ch)
		return nil, err
	}
	defer asm.cleanup()
	po, err := asm.partOptions(o, nil)
	if err != nil {
		close(ch)
		return nil, err
	}
	r, err := c.build(ctx, ts, fn, po, ch)
	if err != nil {
		return nil, err
	}
	res := &Result{BuildPlatform: r.BuildPlatform, Plan: r.Plan, Emulated: r.Emulated, Verified: r.Verified}
	if err := asm.assemble(ctx, o, []part{{res: r}}, res); err != nil {
		return nil, err
	}
	return res, nil
}

// build runs one BuildKit build of targets (ids are their normalised
// names) with o, sending progress to ch, which it closes. It does not write
// the metadata file.
func (c *Client) build(ctx context.Context, ts []target, fn TargetFunc, o *buildOptions, ch chan *client.SolveStatus) (*Result, error) {
	handed := false // BuildKit closes ch once it has it
	defer func() {
		if !handed {
			close(ch)
		}
	}()
	workers, err := c.Workers(ctx)
	if err != nil {
		return nil, err
	}
	if len(workers) == 0 || len(workers[0].Platforms) == 0 {
		return nil, fmt.Errorf("buildkitd at %s reports no worker platforms", c.addr)
	}
	build := workers[0].Platforms[0]
	var plan Plan
	for _, t := range ts {
		plan = append(plan, Assignment{Target: t.platform, Node: c.addr, Build: build, Native: platforms.Equal(t.platform, build)})
	}
	if o.part == nil || !o.part.fleet {
		o.logPlan(ctx, plan)
	}

	solveOpt, stagedOuts, err := o.stageOutputs(ts)
	defer func() {
		for _, s := range stagedOuts {
			s.abort()
		}
	}()
	if err != nil {
		return nil, err
	}

	gb := &gatewayBuild{addr: c.addr, o: o, targets: ts, fn: fn, build: build, workers: workers}
	handed = true
	resp, err := c.bk.Build(ctx, solveOpt, "crossllb", gb.run, ch)
	if err != nil {
		if ctx.Err() != nil {
			// BuildKit reports a cancel as a gRPC status: give callers the
			// context's own error to test with errors.Is.
			return nil, fmt.Errorf("building %s: %w", strings.Join(targetIDs(ts), ", "), context.Cause(ctx))
		}
		if gb.graphErr != nil {
			return nil, gb.graphErr
		}
		return nil, explainPushError(err, o.outputs)
	}

	for _, s := range stagedOuts {
		if err := s.commit(); err != nil {
			return nil, err
		}
	}
	var readBack Output
	if len(stagedOuts) > 0 {
		readBack = stagedOuts[0].readBack()
		for _, s := range stagedOuts {
			defer s.release()
		}
	}
	stagedOuts = nil

	res := &Result{BuildPlatform: build, ExporterResponse: resp.ExporterResponse, Emulated: gb.emulated, Verified: gb.verified, Plan: plan}
	if len(o.outputs) > 0 || o.partSink() != nil {
		if res.Index, res.ImageName, err = parseExporterResponse(resp.ExporterResponse); err != nil {
			return nil, err
		}
	}
	if len(o.outputs) > 0 && !o.pushByDigest() { // a part: the assembly reads its index
		if res.Manifests, err = readManifests(ctx, readBack, res.Index, ts); err != nil {
			return nil, fmt.Errorf("reading back the index from %s: %w", o.outputs[0], err)
		}
	}
	return res, nil
}

// stageOutputs is the build request with its exports: every output staged
// beside its destination (see stage), and the assembly's stream for a part
// of a fleet build. The staged outputs are returned even with an error,
// for the caller to abort.
func (o *buildOptions) stageOutputs(ts []target) (client.SolveOpt, []*staged, error) {
	solveOpt, err := o.solveOpt(targetIDs(ts))
	if err != nil {
		return solveOpt, nil, err
	}
	var stagedOuts []*staged
	for _, out := range o.outputs {
		s, err := stage(out, o.exportSettings(), o.pushByDigest())
		if err != nil {
			return solveOpt, stagedOuts, err
		}
		stagedOuts = append(stagedOuts, s)
		solveOpt.Exports = append(solveOpt.Exports, s.entry)
	}
	if sink := o.partSink(); sink != nil {
		solveOpt.Exports = append(solveOpt.Exports, sinkEntry(sink, o.exportSettings()))
	}
	nameOCIExports(solveOpt.Exports)
	return solveOpt, stagedOuts, nil
}

// gatewayBuild is the gateway callback of one BuildKit build of targets
// (run), in three phases: every target's graph, the solves (and the
// binaries' checks), and the result BuildKit exports. What it found is
// left in its fields for the caller.
type gatewayBuild struct {
	addr    string
	o       *buildOptions
	targets []target
	fn      TargetFunc
	build   ocispec.Platform
	workers []Worker

	emulated []EmulatedStep
	verified []VerifiedBinary
	// graphErr is the graph phase's error: nothing was solved, and
	// BuildKit would return it prefixed "failed to solve", flattened to
	// its message.
	graphErr error
}

func (b *gatewayBuild) run(ctx context.Context, gw gwclient.Client) (*gwclient.Result, error) {
	g, err := b.graphs(ctx, gw)
	if err != nil {
		return nil, err
	}
	refs, err := b.solve(ctx, gw, g.defs)
	if err != nil {
		return nil, err
	}
	return b.result(ctx, gw, refs, g)
}

// graphs is phase 1: every target's graph, before anything is solved, so
// that the whole build can be refused up front. Its errors are kept in
// graphErr, to be returned as they are, not as BuildKit's "failed to
// solve".
func (b *gatewayBuild) graphs(ctx context.Context, gw gwclient.Client) (*graphs, error) {
	g, err := b.o.graphs(ctx, b.targets, b.fn, b.build, gw, b.workers)
	if err != nil {
		b.graphErr = err
		return nil, flatten(err)
	}
	b.emulated = g.emulated
	b.o.logEmulated(ctx, b.addr, b.emulated)
	if b.o.emulation == EmulationWarn {
		for _, s := range b.emulated {
			_ = gw.Warn(ctx, s.Digest, "runs under emulation: "+s.String(), gwclient.WarnOpts{})
		}
	}
	return g, nil
}

// solve is phase 2: every target solved concurrently, then its binaries
// verified. Cache imports reach a gateway build as an option that each
// solve request must carry itself.
//
// A target that fails does not cancel the others: each solve runs to its
// end, so the build fails once the slowest target has. On buildkitd
// v0.33.1, a gateway solve cancelled while its step runs leaves that
// step's mounts in use on the daemon for good (not reclaimable, not
// pruned, until it restarts); a solve that fails by itself releases them
// with the build. The caller's ctx still cancels everything at once.
func (b *gatewayBuild) solve(ctx context.Context, gw gwclient.Client, defs []*bk.Definition) ([]gwclient.Reference, error) {
	imports, err := cacheImports(gw.BuildOpts().Opts)
	if err != nil {
		return nil, err
	}
	refs := make([]gwclient.Reference, len(b.targets))
	checks := make([][]VerifiedBinary, len(b.targets))
	var solves errgroup.Group
	for i, t := range b.targets {
		solves.Go(func() error {
			r, err := gw.Solve(ctx, gwclient.SolveRequest{Definition: defs[i].ToPB(), Evaluate: true, CacheImports: imports})
			if err != nil {
				return fmt.Errorf("building %s: %w", t.id, err)
			}
			if refs[i], err = r.SingleRef(); err != nil {
				return fmt.Errorf("building %s: %w", t.id, err)
			}
			checks[i], err = verifyBinaries(ctx, refs[i], t.platform, b.o.verify, b.o.static)
			return err
		})
	}
	if err := solves.Wait(); err != nil {
		return nil, err
	}
	b.verified = slices.Concat(checks...)
	b.o.logVerified(ctx, b.addr, b.verified)
	return refs, nil
}

// result is phase 3: the result BuildKit exports, each target's ref
// under its ID with its image config and its base's (and SBOMs when asked
// for).
func (b *gatewayBuild) result(ctx context.Context, gw gwclient.Client, refs []gwclient.Reference, g *graphs) (*gwclient.Result, error) {
	res := gwclient.NewResult()
	if b.o.sbomGenerator != "" {
		if err := addSBOMs(ctx, gw, b.o.sbomGenerator, b.build, targetIDs(b.targets), refs, b.o.noCache, res); err != nil {
			return nil, err
		}
	}
	meta := resultMeta{}
	for i, t := range b.targets {
		res.AddRef(t.id, refs[i])
		if err := meta.add(t.id, t.platform, g.imgs[i], g.bases[i]); err != nil {
			return nil, err
		}
	}
	entries, err := meta.entries()
	if err != nil {
		return nil, err
	}
	for k, v := range entries {
		res.AddMeta(k, v)
	}
	return res, nil
}

// solveOpt is the build request before its exports. It asks for no
// entitlements (network.host, security.insecure: this package has no way to
// ask for them) and shares with the daemon only the locals the caller gave
// (WithLocal), the registry credentials of the Docker config file, and the
// caller's session services (WithSession, WithSecrets).
func (o *buildOptions) solveOpt(ids []string) (client.SolveOpt, error) {
	opt := client.SolveOpt{
		FrontendAttrs: frontendAttrs(ids, o.provenance),
		LocalMounts:   o.locals,
		Session: append([]session.Attachable{authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
			AuthConfigProvider: authprovider.LoadAuthConfig(config.LoadDefaultConfigFile(io.Discard)),
		})}, o.session...),
	}
	for _, c := range o.cacheFrom {
		opt.CacheImports = append(opt.CacheImports, cacheEntry(c, false))
	}
	for _, c := range o.cacheTo {
		opt.CacheExports = append(opt.CacheExports, cacheEntry(c, true))
	}
	sec, err := secretsAttachable(o.secrets)
	if err != nil {
		return client.SolveOpt{}, err
	}
	if sec != nil {
		opt.Session = append(opt.Session, sec)
	}
	return opt, nil
}

// flatten keeps an error's whole message across the gateway: BuildKit sends
// a build function's error to the daemon and back as a gRPC status, and
// when the chain holds a status (a resolver error, say) only that inner
// status's message would survive, losing the target and image names.
func flatten(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return errors.New(err.Error())
}

func cacheImports(opts map[string]string) ([]gwclient.CacheOptionsEntry, error) {
	s := opts["cache-imports"]
	if s == "" {
		return nil, nil
	}
	var entries []client.CacheOptionsEntry
	if err := json.Unmarshal([]byte(s), &entries); err != nil {
		return nil, fmt.Errorf("cache imports %q: %w", s, err)
	}
	out := make([]gwclient.CacheOptionsEntry, len(entries))
	for i, e := range entries {
		out[i] = gwclient.CacheOptionsEntry{Type: e.Type, Attrs: e.Attrs}
	}
	return out, nil
}

// maxDefinitionSize is what one gRPC message to buildkitd may carry.
const maxDefinitionSize = 16 << 20

// checkDefinitionSize refuses a definition gRPC would refuse to send, with
// what to do about it.
func checkDefinitionSize(id string, def *bk.Definition) error {
	n := 0
	for _, dt := range def.Def {
		n += len(dt)
	}
	if n > maxDefinitionSize-64<<10 {
		return fmt.Errorf("building %s: the LLB definition is %.1f MiB, more than the %d MiB one message to buildkitd may carry: put large files in the build context (bk.Local) or an image, not inline in the graph (bk.Mkfile)",
			id, float64(n)/(1<<20), maxDefinitionSize>>20)
	}
	return nil
}
