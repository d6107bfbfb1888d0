package solver

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestStepLogsExplain(t *testing.T) {
	s := newStepLogs()
	ok, bad := digest.FromString("ok"), digest.FromString("bad")
	s.record(&client.SolveStatus{Vertexes: []*client.Vertex{{Digest: ok, Name: "go mod download"}, {Digest: bad, Name: "go build . (linux/arm64)"}}})
	var log strings.Builder
	for i := range 30 {
		fmt.Fprintf(&log, "line %d\n", i)
	}
	// Logs arrive in pieces that split lines.
	dt := log.String()
	s.record(&client.SolveStatus{Logs: []*client.VertexLog{{Vertex: bad, Data: []byte(dt[:17])}, {Vertex: ok, Data: []byte("fine\n")}}})
	s.record(&client.SolveStatus{Logs: []*client.VertexLog{{Vertex: bad, Data: []byte(dt[17:])}}})
	s.record(&client.SolveStatus{Vertexes: []*client.Vertex{{Digest: bad, Name: "go build . (linux/arm64)", Error: "exit code: 1"}}})
	err := s.explain(errors.New("failed to solve"))
	got := err.Error()
	if !strings.HasPrefix(got, "failed to solve\nstep \"go build . (linux/arm64)\" failed; its last 20 line(s):\n  > line 10\n") || !strings.HasSuffix(got, "  > line 29") {
		t.Errorf("explain = %q", got)
	}
	if strings.Contains(got, "fine") || strings.Contains(got, "line 9\n") {
		t.Errorf("explain shows another step's log or too many lines: %q", got)
	}
	if e := newStepLogs().explain(errors.New("x")); e.Error() != "x" {
		t.Errorf("without failed steps: %q", e)
	}
}

// An emulated step reads as one line, whatever its script.
func TestEmulatedStepString(t *testing.T) {
	s := EmulatedStep{Name: "apt-get install ca-certificates (linux/arm64)", Platform: ocispec.Platform{OS: "linux", Architecture: "arm64"},
		Args: []string{"/bin/sh", "-c", "set -e\napt-get update\n"}}
	if got := s.String(); got != "apt-get install ca-certificates (linux/arm64) on linux/arm64: /bin/sh -c set -e ..." {
		t.Errorf("String() = %q", got)
	}
}
