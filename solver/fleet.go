package solver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Fleet is several buildkitd nodes that build one image index together:
// each target is built on one node (see Plan) and the index is assembled
// from the nodes' manifests, so the outputs are the same as from a single
// node: one OCI tar, one OCI directory, or one index pushed to a registry.
type Fleet struct {
	nodes []*Client
}

// NewFleet makes a fleet of connected clients (each from Connect, with its
// own options such as WithTLS). Close closes them all.
func NewFleet(nodes ...*Client) (*Fleet, error) {
	if len(nodes) == 0 {
		return nil, errors.New("fleet: no nodes: give at least one connected client")
	}
	seen := map[string]bool{}
	for i, n := range nodes {
		if n == nil {
			return nil, fmt.Errorf("fleet: node %d is nil", i+1)
		}
		if seen[n.addr] {
			return nil, fmt.Errorf("fleet: node %s given twice", n.addr)
		}
		seen[n.addr] = true
	}
	return &Fleet{nodes: slices.Clone(nodes)}, nil
}

// ConnectFleet connects to every address with the same options (see
// Connect; an empty address is refused here, a fleet names its nodes; TLS
// options apply to the tcp:// nodes only) and returns them as a fleet. If one fails, those already connected are
// closed and the error names the address.
func ConnectFleet(ctx context.Context, addrs []string, opts ...ConnectOption) (*Fleet, error) {
	if len(addrs) == 0 {
		return nil, errors.New("fleet: no node addresses: give at least one (unix://, tcp://, docker-container://, kube-pod://)")
	}
	var nodes []*Client
	closeAll := func() {
		for _, n := range nodes {
			_ = n.Close()
		}
	}
	for i, a := range addrs {
		if strings.TrimSpace(a) == "" {
			closeAll()
			return nil, fmt.Errorf("fleet: node address %d is empty", i+1)
		}
		c, err := Connect(ctx, a, append(slices.Clone(opts), WithoutEmbedded(), tlsForTCPOnly())...)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("fleet: node %d: %w", i+1, err)
		}
		nodes = append(nodes, c)
	}
	f, err := NewFleet(nodes...)
	if err != nil {
		closeAll()
		return nil, err
	}
	return f, nil
}

// Nodes returns the fleet's clients, in the order given.
func (f *Fleet) Nodes() []*Client { return slices.Clone(f.nodes) }

// Close closes every node's connection.
func (f *Fleet) Close() error {
	var errs []error
	for _, n := range f.nodes {
		errs = append(errs, n.Close())
	}
	return errors.Join(errs...)
}

func tlsForTCPOnly() ConnectOption {
	return func(o *connectOptions) error { o.tlsTCPOnly = true; return nil }
}
