package solver

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/session/secrets"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/tonistiigi/fsutil"
)

func TestSecretValidate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	const value = "s3cr3t-value-never-in-errors"
	if err := os.WriteFile(file, []byte(value), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, secretsprovider.MaxSecretSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CROSSLLB_TEST_TOKEN", value)
	for _, ok := range []Secret{SecretFile("token", file), SecretEnv("token", "CROSSLLB_TEST_TOKEN")} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, tc := range []struct {
		s    Secret
		want string
	}{
		{SecretFile("", file), "empty ID"},
		{Secret{ID: "x"}, "give a file or an environment variable"},
		{Secret{ID: "x", File: file, Env: "CROSSLLB_TEST_TOKEN"}, "not both"},
		{SecretFile("x", filepath.Join(dir, "missing")), "missing: no such file"},
		{SecretFile("x", dir), "is not a regular file"},
		{SecretFile("x", big), "more than the 512000 BuildKit passes"},
		{SecretEnv("x", "CROSSLLB_TEST_UNSET"), "CROSSLLB_TEST_UNSET is not set"},
	} {
		err := tc.s.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want an error containing %q", tc.s, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), value) {
			t.Errorf("%s: the error carries the secret's value: %v", tc.s, err)
		}
	}
}

func TestWithSecretsRefusesDuplicateIDs(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := buildOptions{}
	if err := WithSecrets(SecretFile("a", file))(&o); err != nil {
		t.Fatal(err)
	}
	err := WithSecrets(SecretFile("b", file), SecretFile("a", file))(&o)
	if err == nil || !strings.Contains(err.Error(), `ID "a" given twice`) {
		t.Errorf("a second secret \"a\" = %v, want an error", err)
	}
}

// The session serves each secret by ID, read when the daemon asks (a file
// changed after WithSecrets is read as it is then), and nothing else.
func TestSecretsServedOverTheSession(t *testing.T) {
	file := filepath.Join(t.TempDir(), "netrc")
	if err := os.WriteFile(file, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CROSSLLB_TEST_TOKEN", "from-env")
	o := buildOptions{}
	if err := WithSecrets(SecretFile("netrc", file), SecretEnv("token", "CROSSLLB_TEST_TOKEN"))(&o); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	opt, err := o.solveOpt([]string{"linux/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	var srv secrets.SecretsServer
	for _, a := range opt.Session {
		if s, ok := a.(secrets.SecretsServer); ok {
			if srv != nil {
				t.Fatal("two secrets providers in the session")
			}
			srv = s
		}
	}
	if srv == nil {
		t.Fatal("no secrets provider in the session")
	}
	ctx := context.Background()
	for id, want := range map[string]string{"netrc": "new", "token": "from-env"} {
		resp, err := srv.GetSecret(ctx, &secrets.GetSecretRequest{ID: id})
		if err != nil || string(resp.Data) != want {
			t.Errorf("GetSecret(%q) = %v, %v; want %q", id, resp, err, want)
		}
	}
	// Neither a file nor a variable named like the ID is served.
	t.Setenv("other", "guessable")
	if _, err := srv.GetSecret(ctx, &secrets.GetSecretRequest{ID: "other"}); err == nil {
		t.Error("a secret that was not given was served")
	}
}

// A build asks for no entitlements and shares only the caller's locals;
// without WithSecrets its session has no secrets provider.
func TestSolveOptAsksForNothingExtra(t *testing.T) {
	dir := t.TempDir()
	o := buildOptions{locals: map[string]fsutil.FS{}}
	if err := WithLocal("context", dir)(&o); err != nil {
		t.Fatal(err)
	}
	opt, err := o.solveOpt([]string{"linux/amd64", "linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	if len(opt.AllowedEntitlements) != 0 {
		t.Errorf("entitlements asked for: %v", opt.AllowedEntitlements)
	}
	var locals []string
	for k := range opt.LocalMounts {
		locals = append(locals, k)
	}
	if !slices.Equal(locals, []string{"context"}) {
		t.Errorf("locals shared: %v, want only [context]", locals)
	}
	if opt.SharedSession != nil || opt.Internal || opt.Frontend != "" || len(opt.OCIStores) != 0 || opt.SourcePolicy != nil {
		t.Errorf("unexpected solve options: %+v", opt)
	}
	for k := range opt.FrontendAttrs {
		if k != "platform" {
			t.Errorf("frontend attribute %q asked for", k)
		}
	}
	for _, a := range opt.Session {
		if _, ok := a.(secrets.SecretsServer); ok {
			t.Error("a secrets provider without WithSecrets")
		}
	}
}
