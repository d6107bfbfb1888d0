package solver

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
)

// tailLines is how many lines of a failed step's log an error carries.
const tailLines = 20

// stepLogs keeps, from a build's progress, the name and the last lines of
// every step's log, so that a failed build's error can say which step
// failed (its name carries the platform) and what it printed, as buildx
// does, whatever the progress mode (--progress quiet shows nothing else).
type stepLogs struct {
	mu     sync.Mutex
	names  map[digest.Digest]string
	logs   map[digest.Digest]*lineTail
	failed []digest.Digest // in the order they failed
}

func newStepLogs() *stepLogs {
	return &stepLogs{names: map[digest.Digest]string{}, logs: map[digest.Digest]*lineTail{}}
}

// tee forwards in to the returned channel, recording as it goes; the
// returned channel is closed when in is.
func (s *stepLogs) tee(in <-chan *client.SolveStatus) chan *client.SolveStatus {
	out := make(chan *client.SolveStatus)
	go func() {
		defer close(out)
		for st := range in {
			s.record(st)
			out <- st
		}
	}()
	return out
}

func (s *stepLogs) record(st *client.SolveStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range st.Vertexes {
		s.names[v.Digest] = v.Name
		if v.Error != "" && !strings.Contains(v.Error, "context canceled") && !slices.Contains(s.failed, v.Digest) {
			s.failed = append(s.failed, v.Digest)
		}
	}
	for _, l := range st.Logs {
		t := s.logs[l.Vertex]
		if t == nil {
			t = &lineTail{}
			s.logs[l.Vertex] = t
		}
		t.write(l.Data)
	}
}

// explain adds to err the failed steps' names and last log lines.
func (s *stepLogs) explain(err error) error {
	if err == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, d := range s.failed {
		fmt.Fprintf(&b, "\nstep %q failed", s.names[d])
		if t := s.logs[d]; t != nil && len(t.lines) > 0 {
			fmt.Fprintf(&b, "; its last %d line(s):", len(t.lines))
			for _, l := range t.lines {
				b.WriteString("\n  > " + l)
			}
		}
	}
	if b.Len() == 0 {
		return err
	}
	return fmt.Errorf("%w%s", err, b.String())
}

// lineTail keeps the last tailLines complete lines written to it (each cut
// at 400 bytes), and the partial line after them.
type lineTail struct {
	lines   []string
	partial []byte
}

func (t *lineTail) write(p []byte) {
	t.partial = append(t.partial, p...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			break
		}
		t.add(string(t.partial[:i]))
		t.partial = t.partial[i+1:]
	}
	if len(t.partial) > 4096 { // a very long line without end
		t.add(string(t.partial))
		t.partial = nil
	}
}

func (t *lineTail) add(l string) {
	l = strings.TrimRight(l, "\r")
	if len(l) > 400 {
		l = l[:400] + "..."
	}
	t.lines = append(t.lines, l)
	if len(t.lines) > tailLines {
		t.lines = t.lines[len(t.lines)-tailLines:]
	}
}
