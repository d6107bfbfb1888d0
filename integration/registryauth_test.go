package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// gobuildEnv runs the example program with extra environment variables.
func gobuildEnv(t *testing.T, ctx context.Context, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, gobuildBin, append([]string{"--addr", buildkitHost(t), "--progress", "plain"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// dockerConfig writes a Docker config.json with credentials for host and
// returns its directory (for DOCKER_CONFIG).
func dockerConfig(t *testing.T, host, user, password string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := map[string]any{"auths": map[string]any{host: map[string]string{
		"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + password)),
	}}}
	dt, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), dt, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// A registry that demands basic auth: wrong credentials fail the push with
// an error that says 401/unauthorized and names the host, and the password
// appears nowhere (error, plain progress, metadata file); the right ones
// push an index the registry serves.
func TestPushWithWrongCredentials(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 10*time.Minute)
	const user = "crossllb"
	right, wrong := "right-"+randomHex(t, 16), "wrong-"+randomHex(t, 16)
	p := startRegistryProxy(t, registryAddr(t), func(p *registryProxy) { p.user, p.password = user, right })
	ref := p.addr + "/crossllb-test/auth:" + randomHex(t, 4)
	dir := t.TempDir()
	secrets := []string{right, wrong,
		base64.StdEncoding.EncodeToString([]byte(user + ":" + right)),
		base64.StdEncoding.EncodeToString([]byte(user + ":" + wrong))}

	meta := filepath.Join(dir, "wrong.json")
	start := time.Now()
	dockerConfigPath := filepath.Join(dockerConfig(t, p.addr, user, wrong), "config.json")
	_, errOut, err := gobuildEnv(t, ctx, []string{"DOCKER_CONFIG=" + filepath.Dir(dockerConfigPath)},
		"--platform", "linux/amd64,linux/arm64",
		"--output", "type=image,name="+ref+",push=true,registry.insecure=true", "--metadata-file", meta)
	if err == nil {
		t.Fatal("a push with wrong credentials succeeded")
	}
	t.Logf("wrong credentials failed after %v; proxy saw %s\n%s", time.Since(start).Round(time.Second), p.summary(), lastLines(errOut, 3))
	last := lastLines(errOut, 5)
	if !strings.Contains(last, p.addr) || !(strings.Contains(last, "401") || strings.Contains(strings.ToLower(last), "unauthorized")) {
		t.Errorf("the error does not say 401/unauthorized for %s:\n%s", p.addr, last)
	}
	wrongDir := filepath.Dir(dockerConfigPath)
	if !strings.Contains(last, "docker login "+p.addr) || !strings.Contains(last, filepath.Join(wrongDir, "config.json")) {
		t.Errorf("the error does not say what to do (docker login %s, the config file in %s):\n%s", p.addr, wrongDir, last)
	}
	for _, s := range secrets {
		if strings.Contains(errOut, s) {
			t.Errorf("the output (error and plain progress) carries a credential %q", s)
		}
	}
	if _, err := os.Stat(meta); !os.IsNotExist(err) {
		t.Errorf("a failed push left a metadata file (%v)", err)
	}

	meta = filepath.Join(dir, "right.json")
	_, errOut, err = gobuildEnv(t, ctx, []string{"DOCKER_CONFIG=" + dockerConfig(t, p.addr, user, right)},
		"--platform", "linux/amd64,linux/arm64",
		"--output", "type=image,name="+ref+",push=true,registry.insecure=true", "--metadata-file", meta)
	if err != nil {
		t.Fatalf("a push with the right credentials: %v\n%s", err, lastLines(errOut, 20))
	}
	dt, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(errOut, s) || bytes.Contains(dt, []byte(s)) {
			t.Errorf("the output or the metadata file carries a credential %q", s)
		}
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r, remote.WithContext(ctx), remote.WithAuth(&authn.Basic{Username: user, Password: right}))
	if err != nil {
		t.Fatalf("the pushed tag: %v", err)
	}
	if desc.MediaType != types.OCIImageIndex || desc.Digest.String() != readMetadata(t, meta).ImageDigest.String() {
		t.Errorf("%s is %s %s, want the index of the metadata file", ref, desc.MediaType, desc.Digest)
	}
}
