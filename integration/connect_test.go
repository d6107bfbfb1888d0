package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	bk "github.com/moby/buildkit/client/llb"

	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// TestConnectStartsPrivateBuildkitd: with no address, no BUILDKIT_HOST and
// no default socket, Connect starts its own buildkitd, builds with it, and
// Close stops it and removes its state.
func TestConnectStartsPrivateBuildkitd(t *testing.T) {
	ctx := testContext(t, 5*time.Minute)
	shared := connect(t, ctx)
	if _, err := os.Stat(strings.TrimPrefix(solver.DefaultSocket, "unix://")); err == nil {
		t.Fatalf("%s exists: this test needs a machine where only hack/setup's daemon runs", solver.DefaultSocket)
	}
	t.Setenv("BUILDKIT_HOST", "")
	c, err := solver.Connect(ctx, "")
	if err != nil {
		t.Fatalf("Connect with no daemon around: %v", err)
	}
	closed := false
	defer func() {
		if !closed {
			c.Close()
		}
	}()
	if c.Address() == shared.Address() || !strings.HasPrefix(c.Address(), "unix://") {
		t.Fatalf("Connect did not start a private daemon: address %s", c.Address())
	}
	sock := strings.TrimPrefix(c.Address(), "unix://")
	want, err := shared.BuildPlatform(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.BuildPlatform(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if platforms.Format(got) != platforms.Format(want) {
		t.Errorf("private daemon's build platform %s, the shared one's %s", platforms.Format(got), platforms.Format(want))
	}
	// It solves: write a file and export it.
	def, err := bk.Scratch().File(bk.Mkfile("/proof", 0o644, []byte("private"))).Marshal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := c.BuildKit().Solve(ctx, def, client.SolveOpt{Exports: []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: out}}}, nil); err != nil {
		t.Fatalf("solving on the private daemon: %v", err)
	}
	if dt, err := os.ReadFile(filepath.Join(out, "proof")); err != nil || string(dt) != "private" {
		t.Fatalf("exported %q, %v", dt, err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	closed = true
	if _, err := os.Stat(filepath.Dir(sock)); err == nil {
		t.Errorf("the private daemon's state %s is still there after Close", filepath.Dir(sock))
	}
}

// TestConnectTCPWithMutualTLS starts a buildkitd on tcp:// that demands a
// client certificate, and connects with and without one.
func TestConnectTCPWithMutualTLS(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	buildkitd, err := exec.LookPath("buildkitd")
	if err != nil {
		t.Fatalf("buildkitd not on PATH (hack/setup puts it there): %v", err)
	}
	dir := t.TempDir()
	ca, caKey := newCert(t, dir, "ca", nil, nil)
	newCert(t, dir, "server", ca, caKey)
	newCert(t, dir, "client", ca, caKey)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "tcp://" + l.Addr().String()
	l.Close()
	root := filepath.Join(dir, "root")
	cmd := exec.Command(buildkitd, "--root", root, "--addr", addr,
		"--tlscacert", filepath.Join(dir, "ca.pem"), "--tlscert", filepath.Join(dir, "server.pem"), "--tlskey", filepath.Join(dir, "server-key.pem"),
		"--oci-worker=true", "--containerd-worker=false")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()

	var c *solver.Client
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err = solver.Connect(ctx, addr,
			solver.WithTLS(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem"), "127.0.0.1"),
			solver.WithProbeTimeout(2*time.Second))
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("Connect over mutual TLS: %v\nbuildkitd: %s", err, logs.String())
	}
	if _, err := c.BuildPlatform(ctx); err != nil {
		t.Errorf("BuildPlatform over TLS: %v", err)
	}
	c.Close()

	// Without a client certificate the daemon refuses, and the error names
	// the address.
	_, err = solver.Connect(ctx, addr, solver.WithTLS(filepath.Join(dir, "ca.pem"), "", "", "127.0.0.1"), solver.WithProbeTimeout(5*time.Second))
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("Connect without a client certificate = %v, want a refusal naming %s", err, addr)
	}
}

// newCert writes NAME.pem and NAME-key.pem into dir: a CA when parent is
// nil, else a certificate for 127.0.0.1 signed by parent.
func newCert(t *testing.T, dir, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "crossllb-test-" + name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	signer, signerKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(name+".pem", "CERTIFICATE", der)
	write(name+"-key.pem", "EC PRIVATE KEY", keyDER)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}
