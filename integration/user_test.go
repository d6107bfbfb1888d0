package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSystemUserWithoutWarnings: the service user's uid (333333 by
// default) is above login.defs' SYS_UID_MAX; useradd and groupadd are told
// so (-K), and print no warning for it, natively and under emulation
// (issue 16). A fresh user name makes the step run, not come from cache.
func TestSystemUserWithoutWarnings(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 15*time.Minute)
	bin := buildCargoExample(t)
	for _, steps := range []string{"native", "emulated"} {
		user := fmt.Sprintf("u%d", time.Now().UnixNano()%1e9)
		_, errOut, err := runCargoExample(t, ctx, bin, "--platform", "linux/arm64",
			"--runtime-steps", steps, "--apt-packages", "", "--user", user)
		if err != nil {
			t.Fatalf("--runtime-steps %s: %v\n%s", steps, err, lastLines(errOut, 40))
		}
		step := "add user " + user + " 333333:333333"
		if !strings.Contains(errOut, step) {
			t.Fatalf("--runtime-steps %s: no %q step in the log:\n%s", steps, step, lastLines(errOut, 40))
		}
		for _, warning := range []string{"outside of the SYS_UID_MIN", "outside of the SYS_GID_MIN", "useradd warning", "groupadd warning"} {
			if strings.Contains(errOut, warning) {
				t.Errorf("--runtime-steps %s: the log has %q:\n%s", steps, warning, lastLines(errOut, 40))
			}
		}
	}
}
