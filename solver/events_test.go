package solver

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	bk "github.com/moby/buildkit/client/llb"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
)

// twoTargets marshals, for amd64 and arm64, a graph whose first step
// (on the build platform, amd64) is the same for both and whose second
// is each target's own; it returns the vertex index and the digests of
// the shared step and of each target's own.
func twoTargets(t *testing.T) (*vertexTargets, digest.Digest, map[string]digest.Digest) {
	t.Helper()
	build := platforms.MustParse("linux/amd64")
	shared := bk.Scratch().File(bk.Mkfile("/shared", 0o644, []byte("same for all")), bk.Platform(build))
	targets := []ocispec.Platform{build, platforms.MustParse("linux/arm64")}
	idx := newVertexTargets(targets)
	own := map[string]digest.Digest{}
	var sharedDigest digest.Digest
	// Recorded in the reverse order (as concurrent targets may be), they
	// come out in the targets' order.
	for i := len(targets) - 1; i >= 0; i-- {
		p := targets[i]
		st := shared.File(bk.Mkfile("/own", 0o644, []byte(platforms.Format(p))), bk.Platform(p))
		def, err := st.Marshal(context.Background(), bk.Platform(p))
		if err != nil {
			t.Fatal(err)
		}
		idx.add(i, def)
		// Def lists the ops inputs first; the last is the output's
		// reference, the one before it the target's own Mkfile.
		own[platforms.Format(p)] = digest.FromBytes(def.Def[len(def.Def)-2])
		sharedDigest = digest.FromBytes(def.Def[0])
	}
	return idx, sharedDigest, own
}

func formats(ps []ocispec.Platform) []string {
	var out []string
	for _, p := range ps {
		out = append(out, platforms.Format(p))
	}
	return out
}

func TestSplitStatusAttributesVertices(t *testing.T) {
	idx, shared, own := twoTargets(t)
	exporting := digest.FromString("exporting to oci image format")
	now := time.Now()
	st := &client.SolveStatus{
		Vertexes: []*client.Vertex{
			{Digest: shared, Name: "mkfile /shared", Started: &now, Completed: &now},
			{Digest: own["linux/arm64"], Name: "mkfile /own (arm64)", Started: &now},
			{Digest: exporting, Name: "exporting to oci image format"},
		},
		Statuses: []*client.VertexStatus{{ID: "layer", Vertex: exporting, Current: 1}},
		Logs: []*client.VertexLog{
			{Vertex: own["linux/arm64"], Data: []byte("one\n")},
			{Vertex: own["linux/amd64"], Data: []byte("amd64 only\n")},
			{Vertex: own["linux/arm64"], Data: []byte("two\n")},
		},
		Warnings: []*client.VertexWarning{{Vertex: shared, Short: []byte("careful")}},
	}
	evs := splitStatus("unix:///node", st, idx)
	if len(evs) != 4 {
		t.Fatalf("%d events, want one per vertex (4): %+v", len(evs), evs)
	}
	for i, want := range []struct {
		digest  digest.Digest
		targets string
		vertex  bool
		logs    int
	}{
		{shared, "[linux/amd64 linux/arm64]", true, 0},
		{own["linux/arm64"], "[linux/arm64]", true, 2},
		{exporting, "[]", true, 0},
		{own["linux/amd64"], "[linux/amd64]", false, 1},
	} {
		e := evs[i]
		if e.Digest != want.digest || fmt.Sprint(formats(e.Targets)) != want.targets || (e.Vertex != nil) != want.vertex || len(e.Logs) != want.logs || e.Node != "unix:///node" {
			t.Errorf("event %d = %+v (targets %v), want digest %s, targets %s, vertex %v, %d log(s)", i, e, formats(e.Targets), want.digest, want.targets, want.vertex, want.logs)
		}
	}
	if !evs[0].Shared() || evs[1].Shared() || len(evs[0].Warnings) != 1 {
		t.Errorf("shared step: Shared()=%v, warnings %d; own step Shared()=%v", evs[0].Shared(), len(evs[0].Warnings), evs[1].Shared())
	}
	if string(evs[1].Logs[0].Data)+string(evs[1].Logs[1].Data) != "one\ntwo\n" {
		t.Errorf("logs out of order: %q, %q", evs[1].Logs[0].Data, evs[1].Logs[1].Data)
	}
	if len(evs[2].Statuses) != 1 || evs[2].Statuses[0].ID != "layer" {
		t.Errorf("exporting's statuses: %+v", evs[2].Statuses)
	}
}

// A vertex solved with IgnoreCache next to the same one with the cache has
// a digest of its own: it is still attributed.
func TestVertexTargetsIgnoreCacheDigest(t *testing.T) {
	idx, shared, _ := twoTargets(t)
	d := digest.FromBytes(fmt.Appendf(nil, "%s-ignorecache", shared))
	if got := formats(idx.of(d)); len(got) != 2 {
		t.Errorf("ignore-cache digest of the shared step: targets %v, want both", got)
	}
	if got := idx.of(digest.FromString("other")); got != nil {
		t.Errorf("an unknown vertex has targets %v", got)
	}
}

// The events come in the stream's order, the display gets every update
// unchanged, a slow callback holds up neither, and finish returns only
// once the callback has had the last event.
func TestEventQueueOrderAndSlowCallback(t *testing.T) {
	idx, _, own := twoTargets(t)
	const n = 200
	release := make(chan struct{})
	var mu sync.Mutex
	var got []string
	q := newEventQueue(func(e Event) {
		<-release // slow: nothing is taken until the stream has ended
		mu.Lock()
		got = append(got, string(e.Logs[0].Data))
		mu.Unlock()
	})
	in := make(chan *client.SolveStatus)
	out := q.tee("n", idx, in)
	shown := 0
	displayDone := make(chan struct{})
	go func() {
		for range out {
			shown++
		}
		close(displayDone)
	}()
	sent := make(chan struct{})
	go func() {
		for i := range n {
			in <- &client.SolveStatus{Logs: []*client.VertexLog{{Vertex: own["linux/arm64"], Data: []byte(fmt.Sprint(i))}}}
		}
		close(in)
		close(sent)
	}()
	select {
	case <-sent:
	case <-time.After(10 * time.Second):
		t.Fatal("a callback that does not return held up the status stream")
	}
	<-displayDone
	if shown != n {
		t.Errorf("the display got %d updates, want %d", shown, n)
	}
	finished := make(chan struct{})
	go func() {
		q.finish(context.Background())
		close(finished)
	}()
	select {
	case <-finished:
		t.Fatal("finish returned before the callback had the events")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-finished
	mu.Lock()
	defer mu.Unlock()
	if len(got) != n {
		t.Fatalf("%d events delivered, want %d", len(got), n)
	}
	for i, s := range got {
		if s != fmt.Sprint(i) {
			t.Fatalf("event %d carries %q: out of order", i, s)
		}
	}
}

// Once ctx is done, finish drops what is left and returns when the call
// in progress does; nothing is delivered after it returned.
func TestEventQueueFinishDropsOnCancel(t *testing.T) {
	var calls, after int
	var mu sync.Mutex
	returned := false
	entered := make(chan struct{}, 1)
	q := newEventQueue(func(Event) {
		mu.Lock()
		calls++
		if returned {
			after++
		}
		mu.Unlock()
		select {
		case entered <- struct{}{}:
		default:
		}
		time.Sleep(20 * time.Millisecond)
	})
	evs := make([]Event, 100)
	q.push(evs)
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	q.finish(ctx)
	mu.Lock()
	returned = true
	c := calls
	mu.Unlock()
	if c >= 100 {
		t.Errorf("every event was delivered after the cancel (%d)", c)
	}
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if after > 0 || calls != c {
		t.Errorf("%d call(s) after finish returned", calls-c)
	}
}

// Without WithProgressEvents nothing is queued and the stream passes
// through as it is.
func TestNilEventQueue(t *testing.T) {
	q := newEventQueue(nil)
	in := make(chan *client.SolveStatus)
	if q.tee("n", nil, in) != (<-chan *client.SolveStatus)(in) {
		t.Error("a nil queue does not pass the stream through")
	}
	q.push([]Event{{}})
	q.finish(context.Background())
	if err := WithProgressEvents(nil)(&buildOptions{}); err == nil {
		t.Error("WithProgressEvents(nil) accepted")
	}
}
