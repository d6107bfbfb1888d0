package solver

import (
	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
)

// relay forwards one build's progress to a display shared by several
// builds. The same step built on two nodes has the same vertex digest, and
// one display would merge the two; relay gives each build's vertices
// digests of their own and prefixes their names with the build's label, so
// that the shared display shows which node is doing what.
func relay(label string, in <-chan *client.SolveStatus, out chan<- *client.SolveStatus) {
	re := func(d digest.Digest) digest.Digest {
		if d == "" {
			return d
		}
		return digest.FromString(label + "\x00" + d.String())
	}
	for s := range in {
		c := &client.SolveStatus{}
		for _, v := range s.Vertexes {
			nv := *v
			nv.Digest = re(v.Digest)
			nv.Name = "[" + label + "] " + v.Name
			nv.Inputs = make([]digest.Digest, len(v.Inputs))
			for i, d := range v.Inputs {
				nv.Inputs[i] = re(d)
			}
			c.Vertexes = append(c.Vertexes, &nv)
		}
		for _, v := range s.Statuses {
			nv := *v
			nv.Vertex = re(v.Vertex)
			c.Statuses = append(c.Statuses, &nv)
		}
		for _, v := range s.Logs {
			nv := *v
			nv.Vertex = re(v.Vertex)
			c.Logs = append(c.Logs, &nv)
		}
		for _, v := range s.Warnings {
			nv := *v
			nv.Vertex = re(v.Vertex)
			c.Warnings = append(c.Warnings, &nv)
		}
		out <- c
	}
}
