package buildflags

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossllb/crossllb/solver"
)

func TestParseSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "netrc")
	if err := os.WriteFile(file, []byte("machine example.com login u password p\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CROSSLLB_TEST_TOKEN", "s3cret")
	t.Chdir(dir) // type=file without src= reads the file named by the id

	for _, tc := range []struct {
		in   string
		want solver.Secret
	}{
		{"id=netrc,src=" + file, solver.SecretFile("netrc", file)},
		{"id=netrc,source=" + file, solver.SecretFile("netrc", file)},
		{"type=file,id=netrc,src=" + file, solver.SecretFile("netrc", file)},
		{"type=file,id=netrc", solver.SecretFile("netrc", "netrc")},
		{"id=token,env=CROSSLLB_TEST_TOKEN", solver.SecretEnv("token", "CROSSLLB_TEST_TOKEN")},
		{"type=env,id=CROSSLLB_TEST_TOKEN", solver.SecretEnv("CROSSLLB_TEST_TOKEN", "CROSSLLB_TEST_TOKEN")},
		{"ID=token,ENV=CROSSLLB_TEST_TOKEN", solver.SecretEnv("token", "CROSSLLB_TEST_TOKEN")},
	} {
		got, err := ParseSecret(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSecret(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}

	for _, tc := range []struct{ in, want string }{
		{"src=" + file, "no id="},
		{"id=netrc", "give a file or an environment variable"},
		{"id=netrc,src=" + file + ",env=CROSSLLB_TEST_TOKEN", "not both"},
		{"id=netrc,src=" + filepath.Join(dir, "missing"), "no such file"},
		{"id=netrc,src=" + dir, "not a regular file"},
		{"id=token,env=CROSSLLB_TEST_UNSET_VARIABLE", "CROSSLLB_TEST_UNSET_VARIABLE is not set"},
		{"type=env,id=CROSSLLB_TEST_UNSET_VARIABLE", "is not set"},
		{"type=ssh,id=x", `type="ssh": want file or env`},
		{"type=env,id=x,src=" + file, "type=env with src="},
		{"type=file,id=x,env=CROSSLLB_TEST_TOKEN", "type=file with env="},
		{"id=x,required=true", `unknown key "required"`},
		{"netrc", `"netrc" is not key=value`},
	} {
		_, err := ParseSecret(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--secret") {
			t.Errorf("ParseSecret(%q) = %v, want an error naming --secret and containing %q", tc.in, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseSecret(%q) error shows the secret's value: %v", tc.in, err)
		}
	}
}
