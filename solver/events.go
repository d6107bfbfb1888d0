package solver

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/moby/buildkit/client"
	bk "github.com/moby/buildkit/client/llb"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Event is what one progress update from BuildKit says about one vertex: a
// step of a target's graph, or one of the build's own (resolving an image
// config, exporting the image).
type Event struct {
	// Node is the address of the buildkitd that reported it (the Client's
	// address; in a Fleet build, the node that builds it).
	Node string
	// Digest identifies the vertex in Node's build: for a step of a
	// target's graph, the digest of its op in the marshalled definition.
	Digest digest.Digest
	// Targets are the target platforms whose graphs hold the vertex, in
	// the order of the build's targets: one for a step of one target,
	// several for a step the targets share (the same go mod download on
	// the build platform), none for the build's own vertices.
	Targets []ocispec.Platform
	// Vertex is the vertex's new state (Name, Started, Completed, Cached,
	// Error) when the update has one.
	Vertex *client.Vertex
	// Statuses, Logs and Warnings are the update's progress counters,
	// log output and warnings about the vertex, in BuildKit's order.
	// These values are BuildKit's own, shared with the WithProgress
	// display: read them, do not change them.
	Statuses []*client.VertexStatus
	Logs     []*client.VertexLog
	Warnings []*client.VertexWarning
}

// Shared reports whether several targets' graphs hold the vertex.
func (e Event) Shared() bool { return len(e.Targets) > 1 }

// WithProgressEvents calls fn with every progress update of the build, one
// Event per vertex, as typed values (what rawjson prints, plus each
// vertex's targets and node). It works beside WithProgress: both see every
// update.
//
// fn is called from one goroutine at a time, in the order BuildKit
// reported the updates (in a Fleet build, each node's updates in their
// order, the nodes' interleaved as they arrive), and never after Build has
// returned. fn is a function rather than a channel so that there is
// nothing to close or drain: delivery ends when Build returns. Updates
// wait for fn in an unbounded queue in memory, so a slow fn never holds up
// the solve, BuildKit's status stream or the WithProgress display (a
// build's progress is rarely more than a few megabytes, mostly logs);
// Build waits for fn to take the last one before it returns. Once ctx is
// done, updates not yet delivered are dropped: Build then waits only for
// the call in progress to return. fn must not call Build.
func WithProgressEvents(fn func(Event)) BuildOption {
	return func(o *buildOptions) error {
		if fn == nil {
			return fmt.Errorf("progress events: nil func")
		}
		o.events = fn
		return nil
	}
}

// vertexTargets maps the vertices of one BuildKit build to the targets
// whose graphs hold them. The build fills it once its graphs are
// marshalled, before anything is solved.
type vertexTargets struct {
	targets []ocispec.Platform
	mu      sync.Mutex
	m       map[digest.Digest][]int // indexes in targets, ascending
}

func newVertexTargets(targets []ocispec.Platform) *vertexTargets {
	return &vertexTargets{targets: targets, m: map[digest.Digest][]int{}}
}

// add records that the graph of targets[i], def, holds each of its ops. A
// step solved with bk.IgnoreCache while the same step is already being
// solved with the cache gets another digest, derived from its own
// (BuildKit's solver does so): it is recorded too.
func (v *vertexTargets) add(i int, def *bk.Definition) {
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, dt := range def.Def {
		d := digest.FromBytes(dt)
		for _, d := range []digest.Digest{d, digest.FromBytes(fmt.Appendf(nil, "%s-ignorecache", d))} {
			if at, found := slices.BinarySearch(v.m[d], i); !found {
				v.m[d] = slices.Insert(v.m[d], at, i)
			}
		}
	}
}

// of is the targets whose graphs hold d, in the targets' order.
func (v *vertexTargets) of(d digest.Digest) []ocispec.Platform {
	if v == nil {
		return nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []ocispec.Platform
	for _, i := range v.m[d] {
		out = append(out, v.targets[i])
	}
	return out
}

// splitStatus cuts one progress update into one Event per vertex, in the
// order the vertices first appear in it.
func splitStatus(node string, st *client.SolveStatus, targets *vertexTargets) []Event {
	var out []Event
	at := map[digest.Digest]int{}
	event := func(d digest.Digest) *Event {
		i, ok := at[d]
		if !ok {
			i = len(out)
			at[d] = i
			out = append(out, Event{Node: node, Digest: d, Targets: targets.of(d)})
		}
		return &out[i]
	}
	for _, v := range st.Vertexes {
		event(v.Digest).Vertex = v
	}
	for _, s := range st.Statuses {
		e := event(s.Vertex)
		e.Statuses = append(e.Statuses, s)
	}
	for _, l := range st.Logs {
		e := event(l.Vertex)
		e.Logs = append(e.Logs, l)
	}
	for _, w := range st.Warnings {
		e := event(w.Vertex)
		e.Warnings = append(e.Warnings, w)
	}
	return out
}

// eventQueue delivers events to the caller's func from one goroutine, in
// order, holding those it has not taken yet: whoever pushes never waits
// for the func.
type eventQueue struct {
	fn   func(Event)
	mu   sync.Mutex
	cond *sync.Cond
	// pending are the events not yet delivered.
	pending []Event
	// closed: no more pushes; drop: deliver nothing more.
	closed, drop bool
	done         chan struct{}
}

// newEventQueue starts delivering to fn; nil fn gives a nil queue, which
// takes and delivers nothing.
func newEventQueue(fn func(Event)) *eventQueue {
	if fn == nil {
		return nil
	}
	q := &eventQueue{fn: fn, done: make(chan struct{})}
	q.cond = sync.NewCond(&q.mu)
	go q.deliver()
	return q
}

func (q *eventQueue) deliver() {
	defer close(q.done)
	for {
		q.mu.Lock()
		for len(q.pending) == 0 && !q.closed && !q.drop {
			q.cond.Wait()
		}
		if q.drop || len(q.pending) == 0 {
			q.mu.Unlock()
			return
		}
		e := q.pending[0]
		q.pending[0] = Event{}
		q.pending = q.pending[1:]
		q.mu.Unlock()
		q.fn(e)
	}
}

func (q *eventQueue) push(evs []Event) {
	if q == nil || len(evs) == 0 {
		return
	}
	q.mu.Lock()
	q.pending = append(q.pending, evs...)
	q.mu.Unlock()
	q.cond.Signal()
}

// finish ends the queue once it is empty, or, when ctx is done first,
// drops what is left; it returns once the func is no longer running.
func (q *eventQueue) finish(ctx context.Context) {
	if q == nil {
		return
	}
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Signal()
	select {
	case <-q.done:
		return
	case <-ctx.Done():
	}
	q.mu.Lock()
	q.drop = true
	q.mu.Unlock()
	q.cond.Signal()
	<-q.done
}

// tee forwards in to the returned channel, queueing each update's events
// (labelled with node, their targets from targets) as it goes; the
// returned channel is closed when in is. A nil queue returns in itself.
func (q *eventQueue) tee(node string, targets *vertexTargets, in <-chan *client.SolveStatus) <-chan *client.SolveStatus {
	if q == nil {
		return in
	}
	out := make(chan *client.SolveStatus)
	go func() {
		defer close(out)
		for st := range in {
			q.push(splitStatus(node, st, targets))
			out <- st
		}
	}()
	return out
}
