package solver

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/cli/cli/config"
)

func TestExplainPushError(t *testing.T) {
	outs := []Output{OCITar("app.tar"), Registry("127.0.0.1:5000/team/app:v1", Insecure())}
	bk := errors.New("failed to solve: failed to push 127.0.0.1:5000/team/app:v1: unexpected status from HEAD request to http://127.0.0.1:5000/v2/team/app/blobs/sha256:abc: 401 Unauthorized")
	err := explainPushError(bk, outs)
	if !errors.Is(err, bk) {
		t.Errorf("the explained error does not wrap BuildKit's")
	}
	for _, want := range []string{"the registry 127.0.0.1:5000 answered 401 Unauthorized", filepath.Join(config.Dir(), "config.json"), "may not push team/app", "docker login 127.0.0.1:5000"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	for _, same := range []error{
		errors.New("failed to push 127.0.0.1:5000/team/app:v1: unknown: injected fault"),
		errors.New("failed to push registry.example.com/app:v1: 401 Unauthorized"), // not this build's registry
	} {
		if got := explainPushError(same, outs); got != same {
			t.Errorf("explainPushError(%q) = %q, want it unchanged", same, got)
		}
	}
}
