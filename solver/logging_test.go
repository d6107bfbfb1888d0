package solver

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
)

// records is a slog.Handler that keeps every record, with its attributes.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *records) Enabled(context.Context, slog.Level) bool { return true }
func (h *records) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}
func (h *records) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *records) WithGroup(string) slog.Handler      { return h }

// attrs are the records with message msg, each as its attributes.
func (h *records) attrs(msg string) []map[string]slog.Value {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]slog.Value
	for _, r := range h.recs {
		if r.Message != msg {
			continue
		}
		m := map[string]slog.Value{"level": slog.StringValue(r.Level.String())}
		r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value; return true })
		out = append(out, m)
	}
	return out
}

func TestWithLoggerRecords(t *testing.T) {
	h := &records{}
	o, err := newBuildOptions([]BuildOption{WithLogger(slog.New(h)), WithEmulation(EmulationWarn), WithOutput(Registry("127.0.0.1:5000/app:v1"))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	amd64, arm64 := platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64")
	o.logPlan(ctx, Plan{{Target: amd64, Node: "unix:///a", Build: amd64, Native: true}, {Target: arm64, Node: "unix:///a", Build: amd64}})
	o.logEmulated(ctx, "unix:///a", []EmulatedStep{{Target: arm64, Platform: arm64, Name: "useradd app (linux/arm64)", Args: []string{"useradd", "app"}}})
	o.logVerified(ctx, "unix:///a", []VerifiedBinary{{Platform: arm64, Path: "/app", Found: "EM_AARCH64", Interpreter: "/lib/ld-linux-aarch64.so.1", GlibcNeeded: "2.34", ImageGlibc: "2.36", Libraries: map[string]string{"libc.so.6": "/lib/aarch64-linux-gnu/libc.so.6"}}})
	o.logOutputs(ctx, &Result{Index: ocispec.Descriptor{Digest: digest.FromString("index")}})

	plan := h.attrs("plan")
	if len(plan) != 2 || plan[1]["target"].String() != "linux/arm64" || plan[1]["node"].String() != "unix:///a" ||
		plan[1]["build"].String() != "linux/amd64" || plan[1]["native"].Bool() || !plan[0]["native"].Bool() {
		t.Errorf("plan records: %v", plan)
	}
	em := h.attrs("emulated step")
	if len(em) != 1 || em[0]["level"].String() != "WARN" || em[0]["step"].String() != "useradd app (linux/arm64)" ||
		em[0]["platform"].String() != "linux/arm64" || em[0]["args"].String() != "useradd app" || em[0]["allowed"].Bool() {
		t.Errorf("emulated step records: %v", em)
	}
	v := h.attrs("verified binary")
	if len(v) != 1 || v[0]["path"].String() != "/app" || v[0]["target"].String() != "linux/arm64" || v[0]["static"].Bool() ||
		v[0]["interpreter"].String() != "/lib/ld-linux-aarch64.so.1" || v[0]["glibc_needed"].String() != "2.34" || v[0]["libraries"].Int64() != 1 {
		t.Errorf("verified binary records: %v", v)
	}
	out := h.attrs("output written")
	if len(out) != 1 || out[0]["kind"].String() != string(KindRegistry) || out[0]["name"].String() != "127.0.0.1:5000/app:v1" ||
		out[0]["index"].String() != digest.FromString("index").String() {
		t.Errorf("output records: %v", out)
	}
}

// Without a logger (or with nil) nothing is logged, and nothing fails.
func TestNoLoggerDiscards(t *testing.T) {
	for _, opts := range [][]BuildOption{nil, {WithLogger(nil)}} {
		o, err := newBuildOptions(opts)
		if err != nil {
			t.Fatal(err)
		}
		if o.logger == nil || o.logger.Enabled(context.Background(), slog.LevelError) {
			t.Errorf("options %v: logger %v, want one that discards", opts, o.logger)
		}
		o.logPlan(context.Background(), Plan{{}})
	}
}
