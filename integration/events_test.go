package integration

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// eventLog keeps the events of a build and counts those that arrive after
// Build returned.
type eventLog struct {
	mu       sync.Mutex
	events   []solver.Event
	returned atomic.Bool
	late     atomic.Int32
}

func (l *eventLog) add(e solver.Event) {
	if l.returned.Load() {
		l.late.Add(1)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

// named is the events of the vertex whose name contains s, in order.
func (l *eventLog) named(s string) []solver.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var d []string
	for _, e := range l.events {
		if e.Vertex != nil && strings.Contains(e.Vertex.Name, s) && !slices.Contains(d, string(e.Digest)) {
			d = append(d, string(e.Digest))
		}
	}
	var out []solver.Event
	for _, e := range l.events {
		if slices.Contains(d, string(e.Digest)) {
			out = append(out, e)
		}
	}
	return out
}

func targetList(ps []ocispec.Platform) string {
	var s []string
	for _, p := range ps {
		s = append(s, platforms.Format(p))
	}
	return strings.Join(s, " ")
}

// sharedAndOwn is a two-step graph per target: one step shared by every
// target (same command, on the build platform), then one of the target's
// own, whose output goes into the image.
func sharedAndOwn(debian, nonce string) solver.TargetFunc {
	return func(ctx context.Context, tg solver.Target) (bk.State, ocispec.Image, error) {
		id := platforms.Format(tg.Platform)
		shared := bk.Image(debian, bk.Platform(tg.BuildPlatform)).
			Run(bk.Shlexf("sh -c 'echo shared-%s; echo %s > /shared'", nonce, nonce), bk.WithCustomName("shared step "+nonce), bk.Platform(tg.BuildPlatform)).Root()
		own := shared.Run(bk.Shlexf("sh -c 'echo own-%s-%s; echo %s > /own'", id, nonce, id), bk.WithCustomName("own step "+id+" "+nonce), bk.Platform(tg.BuildPlatform)).Root()
		return bk.Scratch().File(bk.Copy(own, "/own", "/own"), bk.Platform(tg.Platform)),
			ocispec.Image{Platform: tg.Platform, Config: ocispec.ImageConfig{Cmd: []string{"/own"}}}, nil
	}
}

// checkEvents asserts what a build of sharedAndOwn for amd64 and arm64
// reported through WithProgressEvents.
func checkEvents(t *testing.T, l *eventLog, node, nonce string) {
	t.Helper()
	l.mu.Lock()
	n := len(l.events)
	for _, e := range l.events {
		if e.Node != node {
			t.Errorf("event for %s from node %q, want %q", e.Digest, e.Node, node)
			break
		}
	}
	l.mu.Unlock()
	if n == 0 {
		t.Fatal("no events")
	}
	shared := l.named("shared step " + nonce)
	if len(shared) == 0 {
		t.Fatal("no event for the shared step")
	}
	for _, e := range shared {
		if got := targetList(e.Targets); got != "linux/amd64 linux/arm64" || !e.Shared() {
			t.Errorf("shared step attributed to %q (Shared %v), want both targets", got, e.Shared())
		}
	}
	for _, id := range []string{"linux/amd64", "linux/arm64"} {
		own := l.named("own step " + id + " " + nonce)
		if len(own) == 0 {
			t.Errorf("no event for %s's own step", id)
			continue
		}
		var logs string
		var last *solver.Event
		for i, e := range own {
			if got := targetList(e.Targets); got != id {
				t.Errorf("%s's own step attributed to %q", id, got)
			}
			for _, lg := range e.Logs {
				logs += string(lg.Data)
			}
			if e.Vertex != nil {
				last = &own[i]
			}
		}
		if !strings.Contains(logs, "own-"+id+"-"+nonce) {
			t.Errorf("%s's own step's logs %q lack what it printed", id, logs)
		}
		if v := last.Vertex; v.Started == nil || v.Completed == nil || v.Error != "" || v.Completed.Before(*v.Started) {
			t.Errorf("%s's own step's last state: started %v, completed %v, error %q; want a completed step", id, v.Started, v.Completed, v.Error)
		}
	}
}

// TestProgressEventsAttributeVertices: WithProgressEvents reports every
// vertex as typed events beside the plain display, each step of a
// target's graph with its target (a step both targets share with both),
// a completed step with Started and Completed, and nothing after Build
// returned; a Fleet build tags them with the node. WithLogger gets the
// plan and the outputs as records with attributes.
func TestProgressEventsAttributeVertices(t *testing.T) {
	ctx := testContext(t, 10*time.Minute)
	c := connect(t, ctx)
	debian := registryAddr(t) + "/library/debian:bookworm-slim"
	targets := []ocispec.Platform{platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64")}
	nonce := fmt.Sprint(time.Now().UnixNano())

	var l eventLog
	var progress lockedLog
	var recs logRecords
	dest := filepath.Join(t.TempDir(), "out.tar")
	_, err := c.Build(ctx, targets, sharedAndOwn(debian, nonce),
		solver.WithProgressEvents(l.add), solver.WithProgress("plain", &progress),
		solver.WithLogger(slog.New(&recs)), solver.WithOutput(solver.OCITar(dest)))
	l.returned.Store(true)
	if err != nil {
		t.Fatal(err)
	}
	checkEvents(t, &l, c.Address(), nonce)
	if !strings.Contains(progress.String(), "own step linux/arm64 "+nonce) {
		t.Errorf("the plain display, beside the events, lacks the steps:\n%s", lastLines(progress.String(), 20))
	}
	plan := recs.attrs("plan")
	if len(plan) != 2 || plan[1]["target"] != "linux/arm64" || plan[1]["node"] != c.Address() || plan[1]["native"] != "false" {
		t.Errorf("plan records: %v", plan)
	}
	if out := recs.attrs("output written"); len(out) != 1 || out[0]["dest"] != dest || !strings.HasPrefix(out[0]["index"], "sha256:") {
		t.Errorf("output records: %v", out)
	}

	fleet, err := solver.NewFleet(c)
	if err != nil {
		t.Fatal(err)
	}
	nonce += "-fleet"
	var fl eventLog
	if _, err := fleet.Build(ctx, targets, sharedAndOwn(debian, nonce), solver.WithProgressEvents(fl.add)); err != nil {
		t.Fatal(err)
	}
	fl.returned.Store(true)
	// A fleet builds each target in a build of its own: the shared step
	// is in both, each time with the one target of that build.
	for _, e := range fl.named("shared step " + nonce) {
		if len(e.Targets) != 1 {
			t.Errorf("fleet: shared step attributed to %q, want the one target of its node's build", targetList(e.Targets))
		}
	}
	for _, id := range []string{"linux/amd64", "linux/arm64"} {
		own := fl.named("own step " + id + " " + nonce)
		if len(own) == 0 || own[0].Node != c.Address() || targetList(own[0].Targets) != id {
			t.Errorf("fleet: %s's own step's events %+v, want them tagged with the node and the target", id, own)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if n := l.late.Load() + fl.late.Load(); n > 0 {
		t.Errorf("%d event(s) after Build returned", n)
	}
}

// logRecords is a slog.Handler keeping each record's attributes as text.
type logRecords struct {
	mu   sync.Mutex
	recs []map[string]string
}

func (h *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecords) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecords) WithGroup(string) slog.Handler            { return h }
func (h *logRecords) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"msg": r.Message, "level": r.Level.String()}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, m)
	return nil
}

func (h *logRecords) attrs(msg string) []map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]string
	for _, m := range h.recs {
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// errNoGraph is a TargetFunc's own error.
var errNoGraph = errors.New("no graph for you")

// TestGraphErrorsAreNotSolveErrors: errors found before anything is
// solved come back as they are: a TargetFunc's error (errors.Is finds
// it), a local no WithLocal provides (naming it and the option), the
// emulation guard; none prefixed with BuildKit's "failed to solve".
func TestGraphErrorsAreNotSolveErrors(t *testing.T) {
	ctx := testContext(t, 5*time.Minute)
	c := connect(t, ctx)
	amd64 := []ocispec.Platform{platforms.MustParse("linux/amd64")}
	arm64 := []ocispec.Platform{platforms.MustParse("linux/arm64")}
	debian := registryAddr(t) + "/library/debian:bookworm-slim"

	_, err := c.Build(ctx, amd64, func(context.Context, solver.Target) (bk.State, ocispec.Image, error) {
		return bk.State{}, ocispec.Image{}, errNoGraph
	})
	if !errors.Is(err, errNoGraph) || strings.Contains(fmt.Sprint(err), "failed to solve") || !strings.HasPrefix(fmt.Sprint(err), "building linux/amd64: ") {
		t.Errorf("a TargetFunc's error came back as %v, want it as it is (errors.Is) after the target", err)
	}

	given := t.TempDir()
	_, err = c.Build(ctx, amd64, func(context.Context, solver.Target) (bk.State, ocispec.Image, error) {
		return bk.Scratch().File(bk.Copy(bk.Local("src"), "/", "/src/", &bk.CopyInfo{CopyDirContentsOnly: true, AllowEmptyWildcard: true})), ocispec.Image{}, nil
	}, solver.WithLocal("context", given))
	if err == nil || strings.Contains(err.Error(), "failed to solve") || !strings.Contains(err.Error(), `reads the local "src"`) || !strings.Contains(err.Error(), `solver.WithLocal("src", DIR)`) {
		t.Errorf("a graph reading a local not given: %v, want it named with the option that provides it, not a solve error", err)
	}

	_, err = c.Build(ctx, arm64, func(_ context.Context, tg solver.Target) (bk.State, ocispec.Image, error) {
		return bk.Image(debian, bk.Platform(tg.Platform)).Run(bk.Shlex("true"), bk.Platform(tg.Platform)).Root(), ocispec.Image{}, nil
	}, solver.WithEmulation(solver.EmulationForbid))
	if err == nil || strings.Contains(err.Error(), "failed to solve") || !strings.HasPrefix(err.Error(), "1 step(s) would run under emulation") {
		t.Errorf("the emulation guard: %v, want its refusal as it is", err)
	}
}
