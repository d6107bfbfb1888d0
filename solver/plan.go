package solver

import (
	"context"
	"fmt"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/crossllb/crossllb/platforms"
)

// Assignment says where one target of a fleet build is built.
type Assignment struct {
	// Target is the image platform.
	Target ocispec.Platform
	// Node is the address of the buildkitd that builds it.
	Node string
	// Build is that node's native platform: compile stages run there.
	Build ocispec.Platform
	// Native is true when Target is the node's native platform: no step
	// of this target runs under emulation.
	Native bool
	// Retried lists the nodes that failed this target before Node took it
	// (WithNodeRetries).
	Retried []string
}

// Plan is a fleet build's assignments, one per target, in the targets'
// order.
type Plan []Assignment

// String is the plan as a small table, one line per target.
func (p Plan) String() string {
	var b strings.Builder
	for _, a := range p {
		how := "cross-compiled on " + platforms.Format(a.Build)
		if a.Native {
			how = "native"
		}
		fmt.Fprintf(&b, "%-16s -> %s (%s)", platforms.Format(a.Target), a.Node, how)
		if len(a.Retried) > 0 {
			fmt.Fprintf(&b, " after failing on %s", strings.Join(a.Retried, ", "))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// node is what scheduling knows of a fleet node.
type node struct {
	addr   string
	native ocispec.Platform
	runs   map[string]bool // platforms its workers run, native or emulated
}

// Plan says which node builds each target, without building anything:
// a target goes to a node whose native platform it is, when there is one
// (that target then has no emulated step at all); the others are spread
// over the nodes by how many targets each already has, preferring nodes
// whose workers can run the target's platform, and are cross-compiled
// there on the node's own build platform.
func (f *Fleet) Plan(ctx context.Context, targets []ocispec.Platform) (Plan, error) {
	ts, err := newTargets(targets)
	if err != nil {
		return nil, err
	}
	nodes, err := f.describe(ctx)
	if err != nil {
		return nil, err
	}
	return schedule(targetPlatforms(ts), nodes), nil
}

// describe asks every node for its workers' platforms.
func (f *Fleet) describe(ctx context.Context) ([]node, error) {
	nodes := make([]node, len(f.nodes))
	eg, ectx := errgroup.WithContext(ctx)
	for i, c := range f.nodes {
		eg.Go(func() error {
			ws, err := c.Workers(ectx)
			if err != nil {
				return fmt.Errorf("fleet node %s: %w", c.addr, err)
			}
			if len(ws) == 0 || len(ws[0].Platforms) == 0 {
				return fmt.Errorf("fleet node %s reports no worker platforms", c.addr)
			}
			n := node{addr: c.addr, native: ws[0].Platforms[0], runs: map[string]bool{}}
			for _, w := range ws {
				for _, p := range w.Platforms {
					n.runs[platforms.Format(p)] = true
				}
			}
			nodes[i] = n
			return nil
		})
	}
	return nodes, eg.Wait()
}

// schedule assigns targets to nodes (see Fleet.Plan). It is deterministic:
// ties go to the node given first.
func schedule(targets []ocispec.Platform, nodes []node) Plan {
	plan := make(Plan, len(targets))
	load := make([]int, len(nodes))
	assign := func(i, n int, native bool) {
		plan[i] = Assignment{Target: targets[i], Node: nodes[n].addr, Build: nodes[n].native, Native: native}
		load[n]++
	}
	least := func(ok func(n int) bool) int {
		best := -1
		for n := range nodes {
			if ok(n) && (best < 0 || load[n] < load[best]) {
				best = n
			}
		}
		return best
	}
	// Native targets first, so that the spreading below sees their load.
	done := make([]bool, len(targets))
	for i, t := range targets {
		if n := least(func(n int) bool { return platforms.Equal(nodes[n].native, t) }); n >= 0 {
			assign(i, n, true)
			done[i] = true
		}
	}
	for i, t := range targets {
		if done[i] {
			continue
		}
		id := platforms.Format(t)
		n := least(func(n int) bool { return nodes[n].runs[id] })
		if n < 0 {
			// No node can run this platform's steps: any node will do for
			// a graph with none, and the build says so if it has some.
			n = least(func(int) bool { return true })
		}
		assign(i, n, false)
	}
	return plan
}

// reschedule picks another node for a target whose node failed, among
// those not in dead, with the same preferences as schedule; false if none
// is left.
func reschedule(a Assignment, nodes []node, dead map[string]bool, plan Plan) (Assignment, bool) {
	load := map[string]int{}
	for _, b := range plan {
		load[b.Node]++
	}
	id := platforms.Format(a.Target)
	best := -1
	rank := func(n int) int {
		switch {
		case platforms.Equal(nodes[n].native, a.Target):
			return 0
		case nodes[n].runs[id]:
			return 1
		}
		return 2
	}
	for n := range nodes {
		if dead[nodes[n].addr] {
			continue
		}
		if best < 0 || rank(n) < rank(best) || (rank(n) == rank(best) && load[nodes[n].addr] < load[nodes[best].addr]) {
			best = n
		}
	}
	if best < 0 {
		return a, false
	}
	out := Assignment{Target: a.Target, Node: nodes[best].addr, Build: nodes[best].native,
		Native:  rank(best) == 0,
		Retried: append(append([]string(nil), a.Retried...), a.Node)}
	return out, true
}
