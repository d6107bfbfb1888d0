package llb

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
)

func goImage(t *testing.T, target ocispec.Platform, runtime Base, spec ImageSpec, goOpts []GoOption, rtOpts ...RuntimeOption) Stages {
	t.Helper()
	opts := make([]ImageOption, 0, len(goOpts)+len(rtOpts))
	for _, o := range goOpts {
		opts = append(opts, o)
	}
	for _, o := range rtOpts {
		opts = append(opts, o)
	}
	return GoImage(testSource(), testBuilder(), runtime, toolchain(t, target), spec, opts...)
}

// runtimeOps returns the ops of st.Runtime that are not part of
// st.Compile.
func runtimeOps(t *testing.T, st Stages) (*graph, []digest.Digest) {
	t.Helper()
	compile := marshal(t, st.Compile)
	g := marshal(t, st.Runtime)
	var ds []digest.Digest
	for _, d := range g.order {
		if _, ok := compile.ops[d]; !ok {
			ds = append(ds, d)
		}
	}
	for d := range compile.ops {
		if _, ok := g.ops[d]; !ok {
			t.Errorf("compile op %q is not in the runtime graph", compile.names[d])
		}
	}
	return g, ds
}

func TestGoImagePlatforms(t *testing.T) {
	build := platforms.Format(buildPlatform())
	var compileSources []digest.Digest
	for _, target := range targetPlatforms() {
		want := platforms.Format(target)
		t.Run(want, func(t *testing.T) {
			st := goImage(t, target, testRuntime(target), ImageSpec{}, []GoOption{WithPackage("./cmd/app")},
				WithRun("useradd", "-r", "app"), WithShell("mkdir -p /data && chown app /data"))
			g, rt := runtimeOps(t, st)

			var execs, files, images int
			for _, d := range rt {
				op := g.ops[d]
				switch {
				case op.GetExec() != nil:
					execs++
					if got := opPlatform(op); got != want {
						t.Errorf("runtime exec %q runs on %s, want the target %s", g.names[d], got, want)
					}
				case op.GetFile() != nil:
					files++
				case op.GetSource() != nil:
					images++
					if got := opPlatform(op); got != want {
						t.Errorf("runtime image %q is for %s, want %s", op.GetSource().Identifier, got, want)
					}
					if id := op.GetSource().Identifier; id != "docker-image://docker.io/library/debian:bookworm-slim@"+debianDigest.String() {
						t.Errorf("runtime image source %q", id)
					}
				default:
					t.Errorf("unexpected runtime op %v", op)
				}
			}
			if execs != 2 || files != 1 || images != 1 {
				t.Errorf("runtime stage has %d execs, %d file ops, %d images; want 2, 1, 1", execs, files, images)
			}

			compile := marshal(t, st.Compile)
			for _, d := range compile.order {
				op := compile.ops[d]
				if op.GetExec() != nil || (op.GetSource() != nil && !strings.HasPrefix(op.GetSource().Identifier, "local://")) {
					if got := opPlatform(op); got != build {
						t.Errorf("compile op %q runs on %s, want %s", compile.names[d], got, build)
					}
				}
			}
			src := compile.sources("docker-image://")
			compileSources = append(compileSources, src...)

			_, useradd := g.exec(t, "useradd")
			if !slices.Equal(useradd.Meta.Args, []string{"useradd", "-r", "app"}) {
				t.Errorf("WithRun args %q", useradd.Meta.Args)
			}
			_, sh := g.exec(t, "/bin/sh", "-c")
			if !slices.Equal(sh.Meta.Args, []string{"/bin/sh", "-c", "mkdir -p /data && chown app /data"}) {
				t.Errorf("WithShell args %q", sh.Meta.Args)
			}
			if v, _ := envValue(sh, "PATH"); v != "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" {
				t.Errorf("runtime step PATH %q, want the base image's", v)
			}

			if st.Config.Architecture != target.Architecture || st.Config.Variant != target.Variant || st.Config.OS != "linux" {
				t.Errorf("config platform %s/%s/%s", st.Config.OS, st.Config.Architecture, st.Config.Variant)
			}
			if !slices.Equal(st.Config.Config.Entrypoint, []string{"/usr/local/bin/app"}) || st.Config.Config.Cmd != nil {
				t.Errorf("entrypoint %q cmd %q, want [/usr/local/bin/app] and no inherited cmd", st.Config.Config.Entrypoint, st.Config.Config.Cmd)
			}
		})
	}
	if len(compileSources) != 3 || compileSources[0] != compileSources[1] || compileSources[1] != compileSources[2] {
		t.Errorf("builder image sources differ between targets: %v", compileSources)
	}
}

func TestGoImageCopiesBinary(t *testing.T) {
	target := platforms.MustParse("linux/arm64")
	st := goImage(t, target, testRuntime(target), ImageSpec{}, []GoOption{WithPackage("./cmd/server")})
	g, rt := runtimeOps(t, st)
	var fileDigest digest.Digest
	for _, d := range rt {
		if g.ops[d].GetFile() != nil {
			fileDigest = d
		}
	}
	if fileDigest == "" {
		t.Fatal("no copy in the runtime stage")
	}
	f := g.ops[fileDigest].GetFile()
	if len(f.Actions) != 1 || f.Actions[0].GetCopy() == nil {
		t.Fatalf("file op %v, want one copy", f)
	}
	cp := f.Actions[0].GetCopy()
	if cp.Src != "/server" || cp.Dest != "/usr/local/bin/server" || cp.Mode != 0o755 || !cp.CreateDestPath {
		t.Errorf("copy %q -> %q mode %o createDestPath %v", cp.Src, cp.Dest, cp.Mode, cp.CreateDestPath)
	}
	if u := cp.Owner.GetUser().GetByID(); cp.Owner == nil || u != 0 || cp.Owner.GetGroup().GetByID() != 0 {
		t.Errorf("copy owner %v, want 0:0", cp.Owner)
	}
	if g.names[fileDigest] != "copy /usr/local/bin/server (linux/arm64)" {
		t.Errorf("copy vertex named %q", g.names[fileDigest])
	}
	// The copy's inputs: the runtime image and the go build output.
	_, base := g.input(t, fileDigest, f.Actions[0].Input)
	if !strings.HasPrefix(base.GetSource().GetIdentifier(), "docker-image://docker.io/library/debian") {
		t.Errorf("copy destination is %v, want the runtime image", base)
	}
	buildDigest, _ := g.exec(t, "go", "build")
	if in, _ := g.input(t, fileDigest, f.Actions[0].SecondaryInput); in != buildDigest {
		t.Error("copy source is not the go build output")
	}
	if !slices.Equal(st.Config.Config.Entrypoint, []string{"/usr/local/bin/server"}) {
		t.Errorf("entrypoint %q", st.Config.Config.Entrypoint)
	}
}

func TestGoImageOnScratch(t *testing.T) {
	target := platforms.MustParse("linux/arm/v7")
	st := goImage(t, target, Scratch(target), ImageSpec{Cmd: []string{"serve"}}, nil)
	g, rt := runtimeOps(t, st)
	if len(rt) != 1 || g.ops[rt[0]].GetFile() == nil {
		t.Fatalf("runtime stage on scratch should be one copy, got %d ops", len(rt))
	}
	cp := g.ops[rt[0]].GetFile().Actions[0].GetCopy()
	if cp.Dest != "/usr/local/bin/app" || g.ops[rt[0]].GetFile().Actions[0].Input != int64(-1) {
		t.Errorf("copy to %q on input %d, want /usr/local/bin/app on scratch", cp.Dest, g.ops[rt[0]].GetFile().Actions[0].Input)
	}
	cfg := st.Config.Config
	if !slices.Equal(cfg.Entrypoint, []string{"/usr/local/bin/app"}) || !slices.Equal(cfg.Cmd, []string{"serve"}) {
		t.Errorf("entrypoint %q cmd %q", cfg.Entrypoint, cfg.Cmd)
	}
	if st.Config.Architecture != "arm" || st.Config.Variant != "v7" {
		t.Errorf("config platform %s/%s", st.Config.Architecture, st.Config.Variant)
	}
}

func TestGoImageSpecEntrypointWins(t *testing.T) {
	target := platforms.MustParse("linux/amd64")
	st := goImage(t, target, testRuntime(target), ImageSpec{Entrypoint: []string{"/usr/bin/tini", "--", "/usr/local/bin/app"}}, nil)
	if !slices.Equal(st.Config.Config.Entrypoint, []string{"/usr/bin/tini", "--", "/usr/local/bin/app"}) {
		t.Errorf("entrypoint %q", st.Config.Config.Entrypoint)
	}
}

func TestGoImageErrors(t *testing.T) {
	arm7 := platforms.MustParse("linux/arm/v7")
	arm64 := platforms.MustParse("linux/arm64")

	// Runtime base for another platform than the toolchain's target.
	st := goImage(t, arm7, testRuntime(arm64), ImageSpec{}, nil)
	err := marshalErr(t, st.Runtime)
	for _, w := range []string{"linux/arm64", "linux/arm/v7", `"debian:bookworm-slim"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %s", err, w)
		}
	}
	// "linux/arm" is linux/arm/v7: not a mismatch.
	armNoVariant := testRuntime(ocispec.Platform{OS: "linux", Architecture: "arm"})
	marshal(t, goImage(t, arm7, armNoVariant, ImageSpec{}, nil).Runtime)

	// Invalid options fail both stages.
	st = goImage(t, arm7, testRuntime(arm7), ImageSpec{}, []GoOption{WithOutputName("a/b")})
	for name, s := range map[string]Stages{"compile": st, "runtime": st} {
		state := s.Compile
		if name == "runtime" {
			state = s.Runtime
		}
		if err := marshalErr(t, state); !strings.Contains(err.Error(), `WithOutputName("a/b")`) {
			t.Errorf("%s: error %q does not name the option", name, err)
		}
	}
	st = goImage(t, arm7, testRuntime(arm7), ImageSpec{}, nil, WithRun())
	if err := marshalErr(t, st.Runtime); !strings.Contains(err.Error(), "WithRun([])") || !strings.Contains(err.Error(), "linux/arm/v7") {
		t.Errorf("error %q", err)
	}
	st = goImage(t, arm7, testRuntime(arm7), ImageSpec{ExposedPorts: []string{"http"}}, nil)
	if err := marshalErr(t, st.Runtime); !strings.Contains(err.Error(), `"http"`) {
		t.Errorf("error %q", err)
	}
}

func TestRuntimeStageArtifacts(t *testing.T) {
	target := platforms.MustParse("linux/arm64")
	from := GoCompile(testSource(), testBuilder(), toolchain(t, target))
	st := RuntimeStage(testRuntime(target), []Artifact{
		{From: from, Path: "/app", Dest: "/opt/app/bin/app", UID: 1000, GID: 1001},
		{From: testSource(), Path: "/config.yaml", Dest: "/etc/app/config.yaml", Mode: 0o640},
	}, WithRunOnArtifacts("/opt/app/bin/app", "--self-test"))
	g := marshal(t, st)
	var f *pb.FileOp
	for _, d := range g.order {
		if g.ops[d].GetFile() != nil && g.names[d] != "copy go.mod go.sum" {
			if f != nil {
				t.Fatal("artifacts copied by more than one file op")
			}
			f = g.ops[d].GetFile()
		}
	}
	if f == nil || len(f.Actions) != 2 {
		t.Fatalf("file op %v, want two copies", f)
	}
	a, b := f.Actions[0].GetCopy(), f.Actions[1].GetCopy()
	if a.Dest != "/opt/app/bin/app" || a.Owner.GetUser().GetByID() != 1000 || a.Owner.GetGroup().GetByID() != 1001 || a.Mode != -1 {
		t.Errorf("first copy %q owner %v mode %d", a.Dest, a.Owner, a.Mode)
	}
	if b.Dest != "/etc/app/config.yaml" || b.Mode != 0o640 || b.Owner.GetUser().GetByID() != 0 {
		t.Errorf("second copy %q owner %v mode %o", b.Dest, b.Owner, b.Mode)
	}
	d, e := g.exec(t, "/opt/app/bin/app")
	if opPlatform(g.ops[d]) != "linux/arm64" {
		t.Errorf("WithRunOnArtifacts step runs on %s", opPlatform(g.ops[d]))
	}
	if g.names[d] != "/opt/app/bin/app --self-test (linux/arm64)" {
		t.Errorf("step named %q", g.names[d])
	}
	if e.Meta.Cwd != "/" {
		t.Errorf("step cwd %q", e.Meta.Cwd)
	}

	for _, tt := range []struct {
		a    Artifact
		want string
	}{
		{Artifact{From: from, Path: "/app", Dest: "usr/bin/app"}, `Dest "usr/bin/app"`},
		{Artifact{From: from, Dest: "/usr/bin/app"}, "empty Path"},
		{Artifact{From: from, Path: "/app", Dest: "/app", UID: -1}, "negative owner"},
		{Artifact{From: from, Path: "/app", Dest: "/app", Mode: 0o755 | 0o4000000000}, "Mode"},
	} {
		err := marshalErr(t, RuntimeStage(testRuntime(target), []Artifact{tt.a}))
		if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "linux/arm64") {
			t.Errorf("error %q does not contain %q and the target", err, tt.want)
		}
	}
	err := marshalErr(t, RuntimeStage(Base{Ref: "debian"}, nil))
	if !strings.Contains(err.Error(), "no platform") {
		t.Errorf("error %q", err)
	}
}

// The target's steps run on the base image before the artifacts are
// copied: they depend on no compile op (so BuildKit runs them while the
// compile runs, and a source change does not run them again), and the
// copy sits on top of them. A WithRunOnArtifacts step reads the copy.
func TestRuntimeStepsBeforeArtifacts(t *testing.T) {
	target := platforms.MustParse("linux/arm/v7")
	tc := toolchain(t, target)
	compile := GoCompile(testSource(), testBuilder(), tc)
	u := SystemUser{Name: "app", Dirs: []string{"/data"}}
	st := RuntimeStage(testRuntime(target), []Artifact{{From: compile, Path: "/app", Dest: "/usr/local/bin/app"}},
		WithAptInstall("ca-certificates"), WithSystemUser(u), WithRun("mkdir", "-p", "/srv"),
		WithRunOnArtifacts("/usr/local/bin/app", "--self-test"))
	g := marshal(t, st)
	goBuild, _ := g.exec(t, "go", "build")
	var copyOp digest.Digest
	for _, d := range g.order {
		if f := g.ops[d].GetFile(); f != nil && len(f.Actions) == 1 && f.Actions[0].GetCopy().GetDest() == "/usr/local/bin/app" {
			copyOp = d
		}
	}
	if copyOp == "" {
		t.Fatal("no file op copies the binary")
	}
	before := map[string]digest.Digest{}
	for _, prefix := range [][]string{{"/bin/sh", "-c"}, {"mkdir", "-p", "/srv"}} {
		for _, d := range g.execs(prefix...) {
			before[g.names[d]] = d
		}
	}
	if len(before) != 3 {
		t.Fatalf("found the steps %v, want apt-get, the user and mkdir", slices.Collect(maps.Keys(before)))
	}
	for name, d := range before {
		if g.dependsOn(d, goBuild) {
			t.Errorf("step %q depends on the go build step: it would wait for the compile and run again on every source change", name)
		}
		if !g.dependsOn(copyOp, d) {
			t.Errorf("the binary's copy is not on top of step %q", name)
		}
	}
	self, _ := g.exec(t, "/usr/local/bin/app", "--self-test")
	if !g.dependsOn(self, copyOp) {
		t.Error("the WithRunOnArtifacts step does not read the copied binary")
	}
	if end := digest.Digest(g.result.Digest); end != self {
		t.Errorf("the stage ends at %q, want the WithRunOnArtifacts step", g.names[end])
	}
	// In the order given: apt-get, then the user, then mkdir.
	apt, user, mkdir := before["apt-get install ca-certificates (linux/arm/v7)"], before["add user app 333333:333333, dirs /data (linux/arm/v7)"], before["mkdir -p /srv (linux/arm/v7)"]
	if apt == "" || user == "" || mkdir == "" {
		t.Fatalf("step names %v", slices.Collect(maps.Keys(before)))
	}
	if !g.dependsOn(user, apt) || !g.dependsOn(mkdir, user) {
		t.Error("the steps do not run in the order given")
	}
	if err := marshalErr(t, RuntimeStage(testRuntime(target), nil, WithRunOnArtifacts())); !strings.Contains(err.Error(), "WithRunOnArtifacts") {
		t.Errorf("error %q does not name the option", err)
	}
}
