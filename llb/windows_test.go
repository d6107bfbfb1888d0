package llb

import (
	"slices"
	"strings"
	"testing"

	"github.com/crossllb/crossllb/platforms"
)

func TestGoImageRefusesWindowsOnScratch(t *testing.T) {
	target := platforms.MustParse("windows/amd64")
	st := goImage(t, target, Scratch(target), ImageSpec{}, nil)
	err := marshalErr(t, st.Runtime)
	if err == nil {
		t.Fatal("a windows image on scratch was built: it would have a Linux layout")
	}
	for _, want := range []string{"windows/amd64", "Windows runtime base", "Files/"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// A linux target on scratch is still fine.
	linux := platforms.MustParse("linux/amd64")
	marshal(t, goImage(t, linux, Scratch(linux), ImageSpec{}, nil).Runtime)
}

func TestGoImageOnWindowsBase(t *testing.T) {
	target := platforms.MustParse("windows/amd64")
	base := testRuntime(target)
	base.Ref = "127.0.0.1:5000/nanoserver:ltsc2022"
	st := goImage(t, target, base, ImageSpec{}, []GoOption{WithPackage("./cmd/server")})
	g, rt := runtimeOps(t, st)
	var dest string
	for _, d := range rt {
		if f := g.ops[d].GetFile(); f != nil {
			dest = f.Actions[0].GetCopy().Dest
		}
	}
	if dest != "/usr/local/bin/server.exe" {
		t.Errorf("binary copied to %q, want /usr/local/bin/server.exe", dest)
	}
	if want := []string{`C:\usr\local\bin\server.exe`}; !slices.Equal(st.Config.Config.Entrypoint, want) {
		t.Errorf("entrypoint %q, want %q", st.Config.Config.Entrypoint, want)
	}
	if st.Config.OS != "windows" {
		t.Errorf("config OS %q", st.Config.OS)
	}
}

func TestGoBinaryPath(t *testing.T) {
	for _, c := range []struct{ platform, name, want string }{
		{"linux/arm64", "app", "/usr/local/bin/app"},
		{"darwin/arm64", "app", "/usr/local/bin/app"},
		{"windows/amd64", "app", "/usr/local/bin/app.exe"},
		{"windows/amd64", "app.EXE", "/usr/local/bin/app.EXE"},
	} {
		if got := GoBinaryPath(platforms.MustParse(c.platform), c.name); got != c.want {
			t.Errorf("GoBinaryPath(%s, %q) = %q, want %q", c.platform, c.name, got, c.want)
		}
	}
}
