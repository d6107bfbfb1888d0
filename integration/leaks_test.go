package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	controlapi "github.com/moby/buildkit/api/services/control"

	"github.com/crossllb/crossllb/solver"
)

// The end-of-suite leak check (TestMain runs it after every test): no
// client goroutine outlives its build, no mount the tests made is left,
// and the shared daemon holds no cache record in use once no build runs.

// leakBaseline is what the process looked like before the tests ran.
type leakBaseline struct {
	goroutines map[string]int
	tmp        string // every test's temporary directory is under it
	start      time.Time
}

// knownRecordLeaks are cache records a test leaves in use on purpose,
// by a substring of their description, with the reason.
var knownRecordLeaks sync.Map

// expectRecordInUse says that the test leaves the daemon's cache records
// whose description contains substr in use, and why: the leak check
// reports them without failing the suite.
func expectRecordInUse(substr, why string) { knownRecordLeaks.Store(substr, why) }

func knownLeak(description string) (string, bool) {
	var why string
	knownRecordLeaks.Range(func(k, v any) bool {
		if strings.Contains(description, k.(string)) {
			why = v.(string)
			return false
		}
		return true
	})
	return why, why != ""
}

// clientPackages mark the goroutines the check is about: the client side
// of BuildKit, gRPC and file sync, and this module's own.
var clientPackages = []string{
	"github.com/moby/buildkit/",
	"github.com/crossllb/crossllb/solver",
	"github.com/crossllb/crossllb/llb",
	"google.golang.org/grpc",
	"github.com/tonistiigi/fsutil",
}

func takeLeakBaseline(tmp string) leakBaseline {
	return leakBaseline{goroutines: clientGoroutines(), tmp: tmp, start: time.Now()}
}

// check returns what leaked, one line per leak. Goroutines and in-use
// records are given time to settle: a closed connection's goroutines and a
// finished build's references end shortly after, not at once.
func (b leakBaseline) check(ctx context.Context) []string {
	var leaks []string
	leaks = append(leaks, daemonRecordsInUse(ctx, b.start)...)
	leaks = append(leaks, b.newGoroutines(10*time.Second)...)
	leaks = append(leaks, b.mounts()...)
	return leaks
}

// clientGoroutines counts goroutines by their stack's signature (the
// functions, without arguments or addresses), for those that run client
// code.
func clientGoroutines() map[string]int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]int{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		lines := strings.Split(strings.TrimSpace(g), "\n")
		if len(lines) < 2 {
			continue
		}
		var sig []string
		ours := false
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, "\t") {
				continue // file:line
			}
			fn := l
			if i := strings.LastIndex(fn, "("); i > 0 && !strings.HasPrefix(fn, "created by") {
				fn = fn[:i]
			}
			if i := strings.Index(fn, " in goroutine "); i > 0 {
				fn = fn[:i]
			}
			sig = append(sig, fn)
			for _, p := range clientPackages {
				if strings.Contains(l, p) {
					ours = true
				}
			}
		}
		if ours {
			out[strings.Join(sig, " <- ")]++
		}
	}
	return out
}

func (b leakBaseline) newGoroutines(settle time.Duration) []string {
	deadline := time.Now().Add(settle)
	for {
		var leaks []string
		for sig, n := range clientGoroutines() {
			if extra := n - b.goroutines[sig]; extra > 0 {
				leaks = append(leaks, fmt.Sprintf("%d goroutine(s) left running: %s", extra, sig))
			}
		}
		if len(leaks) == 0 || time.Now().After(deadline) {
			sort.Strings(leaks)
			return leaks
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// mounts lists mount points under the tests' temporary directory: tmpfs
// the tests mounted, overlays of daemons they started.
func (b leakBaseline) mounts() []string {
	dt, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return []string{"reading /proc/self/mountinfo: " + err.Error()}
	}
	var leaks []string
	for _, l := range strings.Split(string(dt), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && strings.HasPrefix(f[4], b.tmp+"/") {
			leaks = append(leaks, "mount left: "+f[4]+" ("+strings.Join(f[len(f)-3:len(f)-1], " ")+")")
		}
	}
	return leaks
}

// daemonRecordsInUse lists the shared daemon's cache records created
// since start that are still in use once it runs no build. Other users of
// the daemon may be building: then the check waits for them (up to a
// minute) and, if they never stop, says it could not check rather than
// blame them on us. (Records another client created during the suite and
// left in use would be reported here too: their descriptions tell.)
func daemonRecordsInUse(ctx context.Context, start time.Time) []string {
	addr := os.Getenv("BUILDKIT_HOST")
	if addr == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	c, err := solver.Connect(ctx, addr)
	if err != nil {
		return []string{"checking the shared daemon's cache records: " + err.Error()}
	}
	defer c.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		active, err := activeBuilds(ctx, c)
		if err != nil {
			return []string{"listing the shared daemon's active builds: " + err.Error()}
		}
		var inUse, known []string
		if active == 0 {
			du, err := c.BuildKit().DiskUsage(ctx)
			if err != nil {
				return []string{"the shared daemon's disk usage: " + err.Error()}
			}
			for _, r := range du {
				if !r.InUse || r.CreatedAt.Before(start) {
					continue
				}
				line := fmt.Sprintf("cache record %s in use on the shared daemon (%s, %s, created %s)", r.ID, r.RecordType, r.Description, r.CreatedAt.Format(time.RFC3339))
				if why, ok := knownLeak(r.Description); ok {
					known = append(known, line+": "+why)
				} else {
					inUse = append(inUse, line)
				}
			}
			// Counted only when still no build runs: one that started
			// meanwhile may hold them.
			if again, err := activeBuilds(ctx, c); err == nil && again == 0 && (len(inUse) == 0 || time.Now().After(deadline)) {
				for _, k := range known {
					fmt.Fprintf(os.Stderr, "leak check: known, not counted: %s\n", k)
				}
				return inUse
			}
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "leak check: the shared daemon still runs %d build(s) of other users after a minute: its cache records were not checked\n", active)
			return nil
		}
		time.Sleep(time.Second)
	}
}

// activeBuilds counts the builds the daemon is running.
func activeBuilds(ctx context.Context, c *solver.Client) (int, error) {
	stream, err := c.BuildKit().ControlClient().ListenBuildHistory(ctx, &controlapi.BuildHistoryRequest{ActiveOnly: true, EarlyExit: true})
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		if ev.Record != nil && ev.Type != controlapi.BuildHistoryEventType_DELETED && ev.Record.CompletedAt == nil {
			n++
		}
	}
}

// reportLeaks prints the leaks for the suite's log.
func reportLeaks(w io.Writer, leaks []string) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "leak check: %d leak(s) after the suite:\n", len(leaks))
	for _, l := range leaks {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	w.Write(b.Bytes())
}
