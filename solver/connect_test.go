package solver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func noEnv(string) (string, bool) { return "", false }

func TestConnectNamesTheAddress(t *testing.T) {
	ctx := context.Background()
	sock := "unix://" + filepath.Join(t.TempDir(), "nothing.sock")
	_, err := Connect(ctx, sock, WithProbeTimeout(2*time.Second))
	if err == nil || !strings.Contains(err.Error(), "connecting to buildkitd at "+sock) || !strings.Contains(err.Error(), "is buildkitd running") {
		t.Errorf("Connect(%s) = %v, want an error naming the address and the fix", sock, err)
	}

	env := func(k string) (string, bool) {
		if k == "BUILDKIT_HOST" {
			return sock, true
		}
		return "", false
	}
	_, err = Connect(ctx, "", withEnv(env), WithProbeTimeout(2*time.Second))
	if err == nil || !strings.Contains(err.Error(), "from BUILDKIT_HOST") || !strings.Contains(err.Error(), sock) {
		t.Errorf("Connect with a dead BUILDKIT_HOST = %v, want an error naming BUILDKIT_HOST and its value", err)
	}
}

func TestConnectWithoutEmbeddedSaysWhatWasTried(t *testing.T) {
	if fileExists(strings.TrimPrefix(DefaultSocket, "unix://")) {
		t.Fatalf("%s exists on this machine: this test needs a machine without a default buildkitd", DefaultSocket)
	}
	_, err := Connect(context.Background(), "", withEnv(noEnv), WithoutEmbedded())
	if err == nil {
		t.Fatal("Connect succeeded with nothing to connect to")
	}
	for _, want := range []string{"BUILDKIT_HOST (unset)", DefaultSocket + ": no socket", "set BUILDKIT_HOST"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// A buildkitd that dies at start: Connect reports its output and leaves no
// temporary root behind.
func TestConnectEmbeddedDaemonThatExits(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatalf("this test runs as root, as the embedded daemon does (uid %d)", os.Geteuid())
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, "buildkitd")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'fake buildkitd: cannot start' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	_, err := Connect(context.Background(), "", withEnv(noEnv), WithEmbedded(EmbeddedConfig{Binary: fake, StartTimeout: 20 * time.Second}))
	if err == nil {
		t.Fatal("Connect succeeded with a buildkitd that exits")
	}
	for _, want := range []string{"starting a private buildkitd", "exited at start", "fake buildkitd: cannot start"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the failed start left %v in TMPDIR", left)
	}
}

func TestConnectOptionsValidate(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		opt  ConnectOption
		want string
	}{
		{WithTLS("", "cert.pem", "", ""), "go together"},
		{WithTLS(filepath.Join(dir, "ca.pem"), "", "", ""), "ca.pem: no such file"},
		{WithEmbedded(EmbeddedConfig{Binary: filepath.Join(dir, "nope")}), "embedded buildkitd"},
		{WithProbeTimeout(0), "must be positive"},
		{WithTLS("", "", "", "buildkitd.example.com"), "TLS options apply to tcp:// addresses only"},
	} {
		_, err := Connect(context.Background(), "unix:///unused", tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Connect with a bad option = %v, want an error containing %q", err, tc.want)
		}
	}
}

func TestDaemonLogIsBounded(t *testing.T) {
	var b lockedBuffer
	line := []byte(strings.Repeat("x", 1023) + "\n")
	for range 1000 {
		if _, err := b.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	b.Write([]byte("the last words"))
	if got := len(b.String()); got > maxDaemonLog {
		t.Errorf("kept %d bytes, more than %d", got, maxDaemonLog)
	}
	if !strings.HasSuffix(b.String(), "the last words") {
		t.Error("the tail of the output was not kept")
	}
}

// An unknown scheme is named, with the supported ones, before BuildKit
// reads the address as a host to look up.
func TestConnectRefusesUnknownScheme(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"garbage://x", `buildkitd address "garbage://x": scheme "garbage" is not supported (want unix://, tcp://, docker-container://, kube-pod://, ssh://`},
		{"127.0.0.1:1234", `buildkitd address "127.0.0.1:1234": no scheme`},
	} {
		_, err := Connect(context.Background(), tc.addr, WithProbeTimeout(time.Second))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Connect(%q) = %v, want it to contain %q", tc.addr, err, tc.want)
		}
	}
	env := func(k string) (string, bool) { return "garbage://x", k == "BUILDKIT_HOST" }
	if _, err := Connect(context.Background(), "", withEnv(env)); err == nil || !strings.Contains(err.Error(), "from BUILDKIT_HOST") || !strings.Contains(err.Error(), `scheme "garbage"`) {
		t.Errorf("BUILDKIT_HOST=garbage://x: %v", err)
	}
}
