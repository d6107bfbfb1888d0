package integration

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/mod/sumdb/dirhash"

	"github.com/crossllb/crossllb/llb"
	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

// privateProxy is a Go module proxy (GOPROXY protocol, HTTPS) serving one
// module, private.example/secretlib v1.0.0, to clients that present the
// basic-auth credentials; anyone else gets 401.
type privateProxy struct {
	srv             *httptest.Server
	user, password  string
	mod, zip        []byte
	authorized, got atomic.Int64
}

const (
	privateModule  = "private.example/secretlib"
	privateVersion = "v1.0.0"
)

func startPrivateProxy(t *testing.T, password string) *privateProxy {
	t.Helper()
	p := &privateProxy{user: "crossllb", password: password}
	p.mod = []byte("module " + privateModule + "\n\ngo 1.26\n")
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	prefix := privateModule + "@" + privateVersion + "/"
	for name, body := range map[string][]byte{
		"go.mod": p.mod,
		"lib.go": []byte("package secretlib\n\n// Greeting proves the module was fetched.\nconst Greeting = \"fetched with the netrc secret\"\n"),
	} {
		w, err := zw.Create(prefix + name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p.zip = zb.Bytes()
	base := "/" + privateModule + "/@v/"
	p.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.got.Add(1)
		if u, pw, ok := r.BasicAuth(); !ok || u != p.user || pw != p.password {
			w.Header().Set("WWW-Authenticate", `Basic realm="crossllb-test"`)
			http.Error(w, "credentials required", http.StatusUnauthorized)
			return
		}
		p.authorized.Add(1)
		switch r.URL.Path {
		case base + "list":
			fmt.Fprintln(w, privateVersion)
		case base + privateVersion + ".info":
			fmt.Fprintf(w, `{"Version":%q,"Time":"2026-01-01T00:00:00Z"}`, privateVersion)
		case base + privateVersion + ".mod":
			w.Write(p.mod)
		case base + privateVersion + ".zip":
			w.Write(p.zip)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// goSum is the go.sum of a module that requires the proxy's module.
func (p *privateProxy) goSum(t *testing.T) string {
	t.Helper()
	zf := filepath.Join(t.TempDir(), "m.zip")
	if err := os.WriteFile(zf, p.zip, 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := dirhash.HashZip(zf, dirhash.Hash1)
	if err != nil {
		t.Fatal(err)
	}
	hmod, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(p.mod)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n", privateModule, privateVersion, h, privateModule, privateVersion, hmod)
}

// --secret id=netrc gives go mod download the credentials of a private
// module proxy, end to end: the gobuild example, a real HTTPS proxy that
// answers 401 without them, and a builder image that points GOPROXY at it.
// Without the secret the build fails naming the module; with it the image
// is built, and the arm64 binary prints what the private module holds.
func TestGobuildPrivateModuleNetrcSecret(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 15*time.Minute)
	c := connect(t, ctx)
	password := fmt.Sprintf("token-%d", time.Now().UnixNano())
	proxy := startPrivateProxy(t, password)
	proxyURL, err := url.Parse(proxy.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: proxy.srv.Certificate().Raw})
	nonce := strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")

	// The builder: golang:1.26-bookworm with GOPROXY at the test's proxy
	// and its certificate trusted (build steps share the host's network).
	builder := registryAddr(t) + "/crossllb-test/golang-private:" + nonce
	mk := func(ctx context.Context, tg solver.Target) (bk.State, ocispec.Image, error) {
		base, err := llb.ResolveBase(ctx, tg.Resolver, "golang:1.26-bookworm", tg.Platform)
		if err != nil {
			return bk.State{}, ocispec.Image{}, err
		}
		img := base.Config
		img.Config.Env = append(append([]string(nil), img.Config.Env...),
			"GOPROXY="+proxy.srv.URL, "GOSUMDB=off", "SSL_CERT_FILE=/etc/crossllb-test-proxy.pem")
		st := base.State().File(bk.Mkfile("/etc/crossllb-test-proxy.pem", 0o644, caPEM))
		return st, img, nil
	}
	if _, err := c.Build(ctx, []ocispec.Platform{platforms.MustParse("linux/amd64")}, mk,
		solver.WithOutput(solver.Registry(builder, solver.Insecure()))); err != nil {
		t.Fatalf("building the builder image: %v", err)
	}

	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"go.mod":  "module example.com/usesprivate\n\ngo 1.26\n\nrequire " + privateModule + " " + privateVersion + "\n",
		"go.sum":  proxy.goSum(t),
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"" + privateModule + "\"\n)\n\nfunc main() { fmt.Println(secretlib.Greeting) }\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	netrc := filepath.Join(dir, "netrc")
	// The go command (GOAUTH=netrc) matches a netrc machine against the
	// request URL's host with its port, and sends credentials over HTTPS
	// only.
	if err := os.WriteFile(netrc, []byte(fmt.Sprintf("machine %s login %s password %s\n", proxyURL.Host, proxy.user, password)), 0o600); err != nil {
		t.Fatal(err)
	}
	image := registryAddr(t) + "/crossllb-test/usesprivate:" + nonce
	args := []string{
		"--context", src, "--builder-image", builder, "--runtime-image", "debian:bookworm-slim", "--platform", "linux/amd64,linux/arm64",
		// Its own Go caches: a module cache that already holds the
		// private module would need no credentials.
		"--cache-namespace", "crossllb-test-netrc-" + nonce,
		"--output", "type=image,name=" + image + ",push=true,registry.insecure=true",
	}

	// No secret: the proxy refuses, and the build says which module.
	_, errOut, err := gobuild(t, ctx, args...)
	if err == nil {
		t.Fatal("gobuild without --secret succeeded: the private proxy should have refused go mod download")
	}
	if !strings.Contains(errOut, privateModule) || !strings.Contains(errOut, "401") {
		t.Errorf("gobuild without --secret: the error does not name the module and the 401:\n%s", lastLines(errOut, 20))
	}
	if n := proxy.authorized.Load(); n != 0 {
		t.Fatalf("the proxy served %d authorized requests without the secret", n)
	}
	if proxy.got.Load() == 0 {
		t.Fatal("the build never reached the proxy: the failure is not the one under test")
	}

	// With the secret: built, and the arm64 binary (run under QEMU) holds
	// the private module's constant.
	mustGobuild(t, ctx, append(args, "--secret", "id=netrc,src="+netrc)...)
	if proxy.authorized.Load() == 0 {
		t.Fatal("the build succeeded but the proxy served no authorized request")
	}
	out := runOn(t, ctx, c, image, platforms.MustParse("linux/arm64"), "/usr/local/bin/usesprivate")
	if strings.TrimSpace(out) != "fetched with the netrc secret" {
		t.Errorf("linux/arm64 binary printed %q, want the private module's Greeting", out)
	}
}
