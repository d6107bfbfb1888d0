package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"

	"github.com/crossllb/crossllb/solver"
)

// Cache exported by one build (all targets at once, mode=max), to a local
// directory or to the registry, and imported into a fresh daemon root makes
// the second build reuse every target's compile step.
// Not parallel: it unsets BUILDKIT_HOST to make Connect start a daemon.
func TestCacheExportImportIntoFreshDaemon(t *testing.T) {
	cacheDir := filepath.Join(t.TempDir(), "cache")
	ref := registryAddr(t) + "/crossllb-test/cache:" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	for _, tc := range []struct{ name, to, from string }{
		{"local", "type=local,dest=" + cacheDir + ",mode=max", "type=local,src=" + cacheDir},
		{"registry", "type=registry,ref=" + ref + ",mode=max,registry.insecure=true", "type=registry,ref=" + ref + ",registry.insecure=true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t, 20*time.Minute)
			src := copyHello(t, "// cache test "+tc.name+"\n")
			args := []string{"--context", src, "--platform", "linux/amd64,linux/arm64,linux/arm/v7"}
			mustGobuild(t, ctx, append(args, "--cache-to", tc.to)...)

			cfg := daemonConfig(t)
			t.Setenv("BUILDKIT_HOST", "")
			fresh, err := solver.Connect(ctx, "", solver.WithEmbedded(solver.EmbeddedConfig{Config: cfg}))
			if err != nil {
				t.Fatalf("starting a fresh buildkitd: %v", err)
			}
			defer fresh.Close()

			cmdArgs := append([]string{"--addr", fresh.Address(), "--progress", "rawjson", "--cache-from", tc.from}, args...)
			var stderr bytes.Buffer
			if err := runGobuild(ctx, cmdArgs, &stderr); err != nil {
				t.Fatalf("gobuild on the fresh daemon: %v\n%s", err, lastLines(stderr.String(), 20))
			}
			progress := stderr.Bytes()
			cached, ran := vertexes(t, bytes.NewReader(progress), "go build")
			if len(cached) != 3 || len(ran) != 0 {
				allCached, allRan := vertexes(t, bytes.NewReader(progress), "")
				t.Logf("all cached: %v\nall ran: %v", allCached, allRan)
				t.Errorf("go build steps on the fresh daemon: cached %v, ran %v; want all 3 from the imported cache", cached, ran)
			}
		})
	}
}

// copyHello copies the hello program into a new directory, with extra
// appended to main.go so that no earlier build's cache matches it.
func copyHello(t *testing.T, extra string) string {
	t.Helper()
	src := t.TempDir()
	for _, f := range []string{"go.mod", "main.go"} {
		dt, err := os.ReadFile(filepath.Join("..", "examples", "gobuild", "testdata", "hello", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "main.go" {
			dt = append(dt, []byte(extra+"// "+t.Name()+time.Now().String()+"\n")...)
		}
		if err := os.WriteFile(filepath.Join(src, f), dt, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return src
}

// vertexes reads rawjson progress and returns the completed vertexes whose
// name contains substr, split by whether BuildKit took them from cache.
func vertexes(t *testing.T, r io.Reader, substr string) (cached, ran []string) {
	t.Helper()
	done := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("{")) {
			continue // log lines and gobuild's own output
		}
		var st client.SolveStatus
		if err := json.Unmarshal(line, &st); err != nil {
			t.Fatalf("rawjson progress line: %v\n%s", err, line)
		}
		for _, v := range st.Vertexes {
			if strings.Contains(v.Name, substr) && v.Completed != nil {
				done[v.Name] = done[v.Name] || v.Cached
			}
		}
	}
	if len(done) == 0 {
		t.Fatalf("no completed vertex named like %q in the progress", substr)
	}
	for name, c := range done {
		if c {
			cached = append(cached, name)
		} else {
			ran = append(ran, name)
		}
	}
	return cached, ran
}
