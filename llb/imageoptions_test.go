package llb

import (
	"strings"
	"testing"

	"github.com/crossllb/crossllb/platforms"
)

// TestImageOptionsMixed: compile and runtime options in one list, in any
// order, reach their stage; an option of the other language is refused.
func TestImageOptionsMixed(t *testing.T) {
	target := platforms.MustParse("linux/arm64")
	tc := toolchain(t, target)
	st := GoImage(testSource(), testBuilder(), testRuntime(target), tc, ImageSpec{},
		WithRun("true"), WithPackage("./cmd/server"), WithRun("false"), WithLDFlags("-s"))
	g := marshal(t, st.Runtime)
	_, build := g.exec(t, "go", "build")
	if !strings.Contains(strings.Join(build.Meta.Args, " "), "-ldflags=-s -o /out/server ./cmd/server") {
		t.Errorf("go build %q, want the Go options", build.Meta.Args)
	}
	trueD, _ := g.exec(t, "true")
	falseD, _ := g.exec(t, "false")
	if !g.dependsOn(falseD, trueD) {
		t.Error("the runtime steps lost their order")
	}

	if err := marshalErr(t, GoImage(testSource(), testBuilder(), testRuntime(target), tc, ImageSpec{}, WithMusl()).Runtime); err == nil || !strings.Contains(err.Error(), "CargoOption(s) given: they are for CargoImage") {
		t.Errorf("GoImage with a CargoOption: %v", err)
	}
	all := []platforms.Toolchain{tc}
	if err := marshalErr(t, CargoImage(testSource(), testDebianBuilder(), testRuntime(target), "hello", tc, all, ImageSpec{}, WithPackage("./x")).Runtime); err == nil || !strings.Contains(err.Error(), "GoOption(s) given: they are for GoImage") {
		t.Errorf("CargoImage with a GoOption: %v", err)
	}
}
