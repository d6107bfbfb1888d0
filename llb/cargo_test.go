package llb

import (
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
)

// testDebianBuilder is debian:bookworm-slim resolved for the build
// platform: the default cargo and C builder.
func testDebianBuilder() Base {
	b := testRuntime(buildPlatform())
	return b
}

// testRustupBuilder is an official-style rust image with rustup.
func testRustupBuilder() Base {
	p := buildPlatform()
	return Base{
		Ref:      "rust:1-bookworm",
		Digest:   golangDigest,
		Platform: p,
		Config: ocispec.Image{Platform: p, Config: ocispec.ImageConfig{Env: []string{
			"PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"RUSTUP_HOME=/usr/local/rustup",
			"CARGO_HOME=/usr/local/cargo",
		}}},
	}
}

func allToolchains(t *testing.T) []platforms.Toolchain {
	t.Helper()
	var all []platforms.Toolchain
	for _, p := range targetPlatforms() {
		all = append(all, toolchain(t, p))
	}
	return all
}

// cargoBuild returns the cargo build exec of g.
func (g *graph) shellExec(t *testing.T, contains string) (digest.Digest, *pb.ExecOp) {
	t.Helper()
	var found []digest.Digest
	for _, d := range g.execs("/bin/sh", "-c") {
		if strings.Contains(g.ops[d].GetExec().Meta.Args[2], contains) {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one shell exec containing %q, found %d", contains, len(found))
	}
	return found[0], g.ops[found[0]].GetExec()
}

func TestCargoCompileRunsOnBuildPlatform(t *testing.T) {
	build := platforms.Format(buildPlatform())
	all := allToolchains(t)
	for _, tc := range all {
		t.Run(platforms.Format(tc.Platform), func(t *testing.T) {
			g := marshal(t, CargoCompile(testSource(), testDebianBuilder(), "hello", tc, all))
			var execs int
			for _, d := range g.order {
				op := g.ops[d]
				switch {
				case op.GetSource() != nil && strings.HasPrefix(op.GetSource().Identifier, "local://"):
				case op.GetFile() != nil:
					t.Errorf("unexpected file op %q", g.names[d])
				default:
					if got := opPlatform(op); got != build {
						t.Errorf("op %q runs on %s, want the build platform %s", g.names[d], got, build)
					}
					if op.GetExec() != nil {
						execs++
					}
				}
			}
			// The base install, the target's own install (none for the
			// native amd64: all its packages are in the base), cargo build.
			wantExecs := 3
			if tc.DebianArch == "amd64" {
				wantExecs = 2
			}
			if execs != wantExecs {
				t.Errorf("%d exec ops, want %d (base install, the target's install, cargo build)", execs, wantExecs)
			}
			d, e := g.shellExec(t, "cargo build")
			if g.names[d] != "cargo build --bin hello ("+platforms.Format(tc.Platform)+", "+tc.RustTarget+")" {
				t.Errorf("vertex named %q", g.names[d])
			}
			want := "cargo build --release --locked --target " + tc.RustTarget + " --bin hello && cp /cargo-target/" + tc.RustTarget + "/release/hello /out/hello"
			if e.Meta.Args[2] != want {
				t.Errorf("script %q\nwant %q", e.Meta.Args[2], want)
			}
			for _, kv := range tc.CargoEnv(false) {
				if !slices.Contains(e.Meta.Env, kv) {
					t.Errorf("cargo build env lacks %s: %q", kv, e.Meta.Env)
				}
			}
			if !slices.Contains(e.Meta.Env, "CARGO_TARGET_DIR=/cargo-target") {
				t.Errorf("env lacks CARGO_TARGET_DIR: %q", e.Meta.Env)
			}
			if m := mount(t, e, "/src"); !m.Readonly {
				t.Error("source mounted writable")
			}
			out := mount(t, e, "/out")
			if out.Input != int64(pb.Empty) || out.Output == int64(pb.SkipOutput) {
				t.Errorf("/out mount: input %d output %d", out.Input, out.Output)
			}
		})
	}
}

func TestCargoSharesInstallStepAndRegistryCache(t *testing.T) {
	all := allToolchains(t)
	reversed := slices.Clone(all)
	slices.Reverse(reversed)
	var installs, builds []digest.Digest
	targetIDs := map[string]string{}
	for i, tc := range all {
		list := all
		if i == 1 {
			list = reversed // order of the list does not matter
		}
		g := marshal(t, CargoCompile(testSource(), testDebianBuilder(), "hello", tc, list, WithCargoCacheNamespace("proj")))
		base, _ := g.shellExec(t, "install -y --no-install-recommends cargo ")
		installs = append(installs, base)
		// The native target's packages are all in the base step; a
		// foreign target's step is on the base step.
		inst := base
		if tc.DebianArch != "amd64" {
			inst, _ = g.shellExec(t, "dpkg --add-architecture "+tc.DebianArch+"\n")
			if in, _ := g.input(t, inst, 0); in != base {
				t.Errorf("%s: its install step does not run on the base step", platforms.Format(tc.Platform))
			}
		}
		b, e := g.shellExec(t, "cargo build")
		builds = append(builds, b)
		if in, _ := g.input(t, b, mount(t, e, "/").Input); in != inst {
			t.Errorf("%s: cargo build does not run on its install step's result", platforms.Format(tc.Platform))
		}
		for _, dest := range []string{"/root/.cargo/registry", "/root/.cargo/git", "/cargo-target"} {
			m := mount(t, e, dest)
			if m.MountType != pb.MountType_CACHE || m.CacheOpt.Sharing != pb.CacheSharingOpt_LOCKED {
				t.Errorf("%s: %s is %v/%v, want a LOCKED cache mount", platforms.Format(tc.Platform), dest, m.MountType, m.CacheOpt.GetSharing())
			}
		}
		if id := mount(t, e, "/root/.cargo/registry").CacheOpt.ID; id != "crossllb/proj/cargo-registry" {
			t.Errorf("registry cache ID %q", id)
		}
		if id := mount(t, e, "/root/.cargo/git").CacheOpt.ID; id != "crossllb/proj/cargo-git" {
			t.Errorf("git cache ID %q", id)
		}
		id := mount(t, e, "/cargo-target").CacheOpt.ID
		if id != "crossllb/proj/cargo-target/"+tc.RustTarget {
			t.Errorf("target dir cache ID %q does not name the triple %s", id, tc.RustTarget)
		}
		targetIDs[id] = platforms.Format(tc.Platform)
	}
	if installs[0] != installs[1] || installs[1] != installs[2] {
		t.Errorf("the base install step differs between targets: %v", installs)
	}
	if builds[0] == builds[1] || builds[1] == builds[2] || builds[0] == builds[2] {
		t.Errorf("cargo build ops should differ between targets: %v", builds)
	}
	if len(targetIDs) != len(all) {
		t.Errorf("target dirs are not one per triple: %v", targetIDs)
	}
}

func TestCargoInstallStep(t *testing.T) {
	all := allToolchains(t)
	g := marshal(t, CargoCompile(testSource(), testDebianBuilder(), "hello", all[1], all, WithTargetPackages("libssl-dev")))
	bd, be := g.shellExec(t, "install -y --no-install-recommends cargo ")
	base := be.Meta.Args[2]
	for _, want := range []string{
		"apt-get install -y --no-install-recommends cargo gcc libc6-dev libstd-rust-dev rustc;",
		"until apt-get update",
		`if [ "$i" -ge 3 ]`,
	} {
		if !strings.Contains(base, want) {
			t.Errorf("base install script lacks %q:\n%s", want, base)
		}
	}
	if strings.Contains(base, "--add-architecture") || strings.Contains(base, "libssl-dev") {
		t.Errorf("the base step installs a target's packages:\n%s", base)
	}
	if g.names[bd] != "install Rust toolchain for linux/amd64" {
		t.Errorf("base install step named %q", g.names[bd])
	}
	if _, b := g.input(t, bd, 0); b.GetSource().GetIdentifier() != "docker-image://docker.io/library/debian:bookworm-slim@"+debianDigest.String() {
		t.Errorf("base install step runs on %v, want the builder image", b)
	}

	d, e := g.shellExec(t, "dpkg --add-architecture")
	script := e.Meta.Args[2]
	for _, want := range []string{
		"dpkg --add-architecture arm64\n",
		"apt-get install -y --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross libssl-dev:arm64 libstd-rust-dev:arm64;",
		"until apt-get update",
		`if [ "$i" -ge 3 ]`,
	} {
		if !strings.Contains(script, want) {
			t.Errorf("arm64 install script lacks %q:\n%s", want, script)
		}
	}
	// Only this target's packages: the others' have steps of their own.
	for _, other := range []string{"armhf", "--add-architecture amd64", "gcc-x86-64", "rustc"} {
		if strings.Contains(script, other) {
			t.Errorf("arm64 install script has %q:\n%s", other, script)
		}
	}
	for _, ex := range []*pb.ExecOp{be, e} {
		if !slices.Contains(ex.Meta.Env, "DEBIAN_FRONTEND=noninteractive") || ex.Meta.User != "root" {
			t.Errorf("install step env %q user %q", ex.Meta.Env, ex.Meta.User)
		}
	}
	if g.names[d] != "install Rust and C cross toolchain for linux/arm64 (on linux/amd64)" {
		t.Errorf("install step named %q", g.names[d])
	}
	if in, _ := g.input(t, d, 0); in != bd {
		t.Error("arm64's install step does not run on the base step")
	}

	// The native target with a package of its own: a step of its own
	// without --add-architecture; without one, none.
	g = marshal(t, CargoCompile(testSource(), testDebianBuilder(), "hello", all[0], all, WithTargetPackages("libssl-dev")))
	if _, e := g.shellExec(t, "--no-install-recommends libssl-dev;"); strings.Contains(e.Meta.Args[2], "--add-architecture") {
		t.Errorf("amd64 install script:\n%s", e.Meta.Args[2])
	}
	g = marshal(t, CargoCompile(testSource(), testDebianBuilder(), "hello", all[0], all))
	if n := len(g.execs("/bin/sh", "-c")); n != 2 {
		t.Errorf("amd64 without target packages: %d shell steps, want the base install and cargo build", n)
	}
}

// Adding a target leaves every other target's graph as it was (so BuildKit
// reuses its install and compile); its own install step is new, and the
// base step is shared.
func TestCargoAddingATargetInstallsItAlone(t *testing.T) {
	all := allToolchains(t)
	for _, tc := range all[:2] {
		before := marshal(t, CargoCompile(testSource(), testDebianBuilder(), "hello", tc, all[:2]))
		after := marshal(t, CargoCompile(testSource(), testDebianBuilder(), "hello", tc, all))
		b, _ := before.shellExec(t, "cargo build")
		a, _ := after.shellExec(t, "cargo build")
		if a != b {
			t.Errorf("%s: its cargo build changed when linux/arm/v7 was added", platforms.Format(tc.Platform))
		}
	}
	arm64 := marshal(t, CargoCompile(testSource(), testDebianBuilder(), "hello", all[1], all))
	arm7 := marshal(t, CargoCompile(testSource(), testDebianBuilder(), "hello", all[2], all))
	b64, _ := arm64.shellExec(t, "install -y --no-install-recommends cargo ")
	b7, _ := arm7.shellExec(t, "install -y --no-install-recommends cargo ")
	i64, _ := arm64.shellExec(t, "dpkg --add-architecture")
	i7, _ := arm7.shellExec(t, "dpkg --add-architecture")
	if b64 != b7 {
		t.Error("the base install step differs between arm64 and arm/v7")
	}
	if i64 == i7 || arm64.dependsOn(i64, i7) || arm7.dependsOn(i7, i64) {
		t.Error("arm64's and arm/v7's install steps are not two independent steps")
	}
}

func TestCargoRustupAndMusl(t *testing.T) {
	all := allToolchains(t)
	arm64 := all[1]

	// Debian's rustc has no musl std: a clear error, not a broken build.
	err := marshalErr(t, CargoCompile(testSource(), testDebianBuilder(), "hello", arm64, all, WithMusl()))
	for _, w := range []string{"WithMusl", "aarch64-unknown-linux-musl", "WithRustup", "linux/arm64"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %s", err, w)
		}
	}

	for _, musl := range []bool{false, true} {
		opts := []CargoOption{WithRustup()}
		if musl {
			opts = append(opts, WithMusl())
		}
		var rustups []digest.Digest
		for _, tc := range all {
			g := marshal(t, CargoCompile(testSource(), testRustupBuilder(), "hello", tc, all, opts...))
			rd, re := g.exec(t, "rustup", "target", "add")
			rustups = append(rustups, rd)
			if want := []string{tc.RustTargetFor(musl)}; !slices.Equal(re.Meta.Args[3:], want) {
				t.Errorf("rustup target add %q, want %q: this target's only", re.Meta.Args[3:], want)
			}
			if opPlatform(g.ops[rd]) != platforms.Format(buildPlatform()) {
				t.Errorf("rustup runs on %s", opPlatform(g.ops[rd]))
			}
			for _, d := range g.execs("/bin/sh", "-c") {
				if s := g.ops[d].GetExec().Meta.Args[2]; strings.Contains(s, "apt-get") && (strings.Contains(s, "rustc") || strings.Contains(s, "libstd-rust")) {
					t.Errorf("rustup builder's apt step:\n%s", s)
				}
			}
			if tc.DebianArch != "amd64" {
				_, inst := g.shellExec(t, "dpkg --add-architecture")
				if s := inst.Meta.Args[2]; !strings.Contains(s, strings.Join(tc.DebianCrossPackages(), " ")) {
					t.Errorf("rustup builder's apt step for %s:\n%s", platforms.Format(tc.Platform), s)
				}
			}
			b, e := g.shellExec(t, "cargo build")
			if in, _ := g.input(t, b, mount(t, e, "/").Input); in != rd {
				t.Error("cargo build does not run after rustup target add")
			}
			triple := tc.RustTargetFor(musl)
			if !strings.Contains(e.Meta.Args[2], "--target "+triple+" ") {
				t.Errorf("script %q does not target %s", e.Meta.Args[2], triple)
			}
			for _, kv := range tc.CargoEnv(musl) {
				if !slices.Contains(e.Meta.Env, kv) {
					t.Errorf("env lacks %s", kv)
				}
			}
			// The rust image's CARGO_HOME holds the caches.
			if id := mount(t, e, "/usr/local/cargo/registry").CacheOpt.ID; id != "crossllb/default/cargo-registry" {
				t.Errorf("registry cache %q", id)
			}
			if id := mount(t, e, "/cargo-target").CacheOpt.ID; id != "crossllb/default/cargo-target/"+triple {
				t.Errorf("target cache %q", id)
			}
		}
		if rustups[0] == rustups[1] || rustups[1] == rustups[2] || rustups[0] == rustups[2] {
			t.Errorf("musl=%v: rustup target add is shared between targets: %v", musl, rustups)
		}
	}
}

func TestCargoErrors(t *testing.T) {
	all := allToolchains(t)
	arm7 := all[2]
	for _, tt := range []struct {
		name string
		bin  string
		tc   platforms.Toolchain
		all  []platforms.Toolchain
		opts []CargoOption
		want string
	}{
		{"bad bin", "../x", arm7, all, nil, `binary name "../x"`},
		{"not in list", "hello", arm7, all[:2], nil, "not in the list of all targets"},
		{"no targets", "hello", arm7, nil, nil, "no targets given"},
		{"windows", "hello", toolchain(t, platforms.MustParse("windows/amd64")), all, nil, "no Debian cross toolchain"},
		{"env", "hello", arm7, all, []CargoOption{WithCargoEnv("CARGO_TARGET_DIR=/x")}, "WithCargoEnv"},
		{"pkg", "hello", arm7, all, []CargoOption{WithTargetPackages("libssl-dev:arm64")}, "without architecture"},
		{"ns", "hello", arm7, all, []CargoOption{WithCargoCacheNamespace("../x")}, "WithCargoCacheNamespace"},
		{"feature", "hello", arm7, all, []CargoOption{WithCargoFeatures("a;rm")}, "WithCargoFeatures"},
	} {
		err := marshalErr(t, CargoCompile(testSource(), testDebianBuilder(), tt.bin, tt.tc, tt.all, tt.opts...))
		if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "cargo build for ") {
			t.Errorf("%s: error %q does not contain %q", tt.name, err, tt.want)
		}
	}
	if err := marshalErr(t, CargoCompile(testSource(), Base{Ref: "debian"}, "hello", arm7, all)); !strings.Contains(err.Error(), "no platform") {
		t.Errorf("error %q", err)
	}
}

// A crate without Cargo.lock: no --locked, a writable source for the lock
// file cargo writes, and a step name that says so.
func TestCargoWithoutLock(t *testing.T) {
	all := allToolchains(t)
	g := marshal(t, CargoCompile(testSource(), testDebianBuilder(), "hello", all[1], all, WithoutCargoLock()))
	d, e := g.shellExec(t, "cargo build")
	if strings.Contains(e.Meta.Args[2], "--locked") {
		t.Errorf("script %q has --locked", e.Meta.Args[2])
	}
	if mount(t, e, "/src").Readonly {
		t.Error("the source is read-only: cargo cannot write Cargo.lock")
	}
	if !strings.HasSuffix(g.names[d], ", no Cargo.lock: resolved in the build)") {
		t.Errorf("step named %q", g.names[d])
	}
}

// Build-platform packages join the base install step, unqualified;
// target packages get the target's architecture, in its own step.
func TestCargoBuildAndTargetPackages(t *testing.T) {
	all := allToolchains(t)
	g := marshal(t, CargoCompile(testSource(), testDebianBuilder(), "hello", all[1], all,
		WithBuildPackages("pkg-config"), WithTargetPackages("libssl-dev")))
	_, base := g.shellExec(t, "install -y --no-install-recommends cargo ")
	_, target := g.shellExec(t, "dpkg --add-architecture")
	for _, c := range []struct {
		e          *pb.ExecOp
		want, lack string
	}{
		{base, " pkg-config", "libssl-dev"},
		{target, " libssl-dev:arm64", "pkg-config"},
		{target, " libssl-dev:arm64", "libssl-dev:armhf"},
	} {
		if s := c.e.Meta.Args[2]; !strings.Contains(s, c.want) || strings.Contains(s, c.lack) {
			t.Errorf("install script %q: want %q, not %q", s, c.want, c.lack)
		}
	}
	if err := marshalErr(t, CargoCompile(testSource(), testDebianBuilder(), "hello", all[1], all, WithBuildPackages("a;b"))); !strings.Contains(err.Error(), "WithBuildPackages") {
		t.Errorf("error %q", err)
	}
}

func TestCargoImage(t *testing.T) {
	all := allToolchains(t)
	tc := all[2]
	u := SystemUser{Name: "trow", Dirs: []string{"/data/layers", "/data/scratch", "/certs"}}
	st := CargoImage(testSource(), testDebianBuilder(), testRuntime(tc.Platform), "hello", tc, all,
		ImageSpec{User: u.ConfigUser()}, WithAptInstall("ca-certificates"), WithSystemUser(u))
	if !slices.Equal(st.Config.Config.Entrypoint, []string{"/usr/local/bin/hello"}) || st.Config.Config.User != "333333:333333" {
		t.Errorf("entrypoint %q user %q", st.Config.Config.Entrypoint, st.Config.Config.User)
	}
	g := marshal(t, st.Runtime)
	build := platforms.Format(buildPlatform())
	for _, want := range []struct{ contains, on string }{
		{"apt-get install -y --no-install-recommends ca-certificates;", "linux/arm/v7"},
		{"useradd", "linux/arm/v7"},
		{"cargo build", build},
	} {
		d, _ := g.shellExec(t, want.contains)
		if got := opPlatform(g.ops[d]); got != want.on {
			t.Errorf("step %q runs on %s, want %s", g.names[d], got, want.on)
		}
	}
	// The runtime steps run on the base image, in order, and the binary
	// is copied on top of them (as a hand-written Dockerfile does).
	ud, _ := g.shellExec(t, "useradd")
	ad, _ := g.shellExec(t, "apt-get install -y --no-install-recommends ca-certificates;")
	if in, _ := g.input(t, ud, 0); in != ad {
		t.Error("useradd does not run on the apt step's result")
	}
	if _, in := g.input(t, ad, 0); !strings.HasPrefix(in.GetSource().GetIdentifier(), "docker-image://docker.io/library/debian:bookworm-slim@") {
		t.Errorf("apt step runs on %v, want the runtime base image", in)
	}
	if end := digest.Digest(g.result.Digest); len(g.ops[end].GetFile().GetActions()) != 1 || g.ops[end].GetFile().GetActions()[0].GetCopy().GetDest() != "/usr/local/bin/hello" {
		t.Errorf("the runtime stage ends at %q, want the binary's copy", g.names[end])
	} else if in, _ := g.input(t, end, 0); in != ud {
		t.Error("the binary's copy is not on top of the useradd step")
	}

	st = CargoImage(testSource(), testDebianBuilder(), testRuntime(all[1].Platform), "hello", tc, all, ImageSpec{})
	if err := marshalErr(t, st.Runtime); !strings.Contains(err.Error(), "linux/arm64") || !strings.Contains(err.Error(), "linux/arm/v7") {
		t.Errorf("error %q", err)
	}
}

func TestSystemUser(t *testing.T) {
	target := platforms.MustParse("linux/arm64")
	u := SystemUser{Name: "trow", UID: 1234, Dirs: []string{"/data/layers", "/certs/"}}
	if u.ConfigUser() != "1234:333333" {
		t.Errorf("ConfigUser %q", u.ConfigUser())
	}
	g := marshal(t, RuntimeStage(testRuntime(target), nil, WithSystemUser(u), WithAptInstall("ca-certificates", "tzdata", "ca-certificates")))
	d, e := g.shellExec(t, "useradd")
	want := "set -e\ngroupadd --system -K SYS_GID_MIN=333333 -K SYS_GID_MAX=333333 --gid 333333 trow\n" +
		"useradd --system -K SYS_UID_MIN=1234 -K SYS_UID_MAX=1234 --no-log-init --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --uid 1234 --gid 333333 trow\n" +
		"mkdir -p /data/layers /certs\nchown 1234:333333 /data/layers /certs\n"
	if e.Meta.Args[2] != want {
		t.Errorf("script %q\nwant %q", e.Meta.Args[2], want)
	}
	if g.names[d] != "add user trow 1234:333333, dirs /data/layers /certs/ (linux/arm64)" {
		t.Errorf("named %q", g.names[d])
	}
	nodirs := marshal(t, RuntimeStage(testRuntime(target), nil, WithSystemUser(SystemUser{Name: "trow"})))
	if nd, _ := nodirs.shellExec(t, "useradd"); nodirs.names[nd] != "add user trow 333333:333333 (linux/arm64)" {
		t.Errorf("without dirs, named %q", nodirs.names[nd])
	}
	ad, ae := g.shellExec(t, "apt-get")
	if !strings.Contains(ae.Meta.Args[2], "install -y --no-install-recommends ca-certificates tzdata;") || strings.Contains(ae.Meta.Args[2], "dpkg") {
		t.Errorf("apt script %q", ae.Meta.Args[2])
	}
	if !slices.Contains(ae.Meta.Env, "DEBIAN_FRONTEND=noninteractive") || g.names[ad] != "apt-get install ca-certificates tzdata (linux/arm64)" {
		t.Errorf("apt step env %q name %q", ae.Meta.Env, g.names[ad])
	}
	for _, tt := range []struct {
		opt  RuntimeOption
		want string
	}{
		{WithSystemUser(SystemUser{Name: "root; rm"}), "name"},
		{WithSystemUser(SystemUser{Name: "app", Dirs: []string{"data"}}), `"data"`},
		{WithSystemUser(SystemUser{Name: "app", Dirs: []string{"/"}}), `"/"`},
		{WithSystemUser(SystemUser{Name: "app", UID: -5}), "out of range"},
		{WithAptInstall(), "no packages"},
		{WithAptInstall("a b"), `"a b"`},
	} {
		err := marshalErr(t, RuntimeStage(testRuntime(target), nil, tt.opt))
		if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "linux/arm64") {
			t.Errorf("error %q does not contain %q and the target", err, tt.want)
		}
	}
}

func TestCCompile(t *testing.T) {
	all := allToolchains(t)
	build := platforms.Format(buildPlatform())
	var installs []digest.Digest
	for _, tc := range all {
		g := marshal(t, CCompile(testSource(), testDebianBuilder(), "build/hello", tc, all, WithCEnv("CFLAGS=-O2")))
		for _, d := range g.order {
			if op := g.ops[d]; op.GetExec() != nil && opPlatform(op) != build {
				t.Errorf("%s: %q runs on %s", platforms.Format(tc.Platform), g.names[d], opPlatform(op))
			}
		}
		base, _ := g.shellExec(t, "--no-install-recommends gcc libc6-dev make;")
		installs = append(installs, base)
		inst := base
		if tc.DebianArch != "amd64" {
			var ie *pb.ExecOp
			inst, ie = g.shellExec(t, "dpkg --add-architecture "+tc.DebianArch+"\n")
			if want := "--no-install-recommends " + strings.Join(tc.DebianCrossPackages(), " ") + ";"; !strings.Contains(ie.Meta.Args[2], want) {
				t.Errorf("C install script lacks %q:\n%s", want, ie.Meta.Args[2])
			}
			if in, _ := g.input(t, inst, 0); in != base {
				t.Errorf("%s: C install step not on the base step", platforms.Format(tc.Platform))
			}
		}
		d, e := g.exec(t, "/bin/sh", "-c", `"$@" && cp /src/build/hello /out/hello`, "sh", "make")
		if in, _ := g.input(t, d, mount(t, e, "/").Input); in != inst {
			t.Error("make does not run on the install step")
		}
		for _, kv := range []string{"CC=" + tc.GNUTriple + "-gcc", "AR=" + tc.GNUTriple + "-ar", "HOST=" + tc.GNUTriple, "CFLAGS=-O2"} {
			if !slices.Contains(e.Meta.Env, kv) {
				t.Errorf("env lacks %s: %q", kv, e.Meta.Env)
			}
		}
		if m := mount(t, e, "/src"); m.Readonly || m.Output != int64(pb.SkipOutput) {
			t.Errorf("/src readonly=%v output=%d, want a writable scratch copy", m.Readonly, m.Output)
		}
		if g.names[d] != "make ("+platforms.Format(tc.Platform)+", "+tc.GNUTriple+")" {
			t.Errorf("named %q", g.names[d])
		}
	}
	if installs[0] != installs[1] || installs[1] != installs[2] {
		t.Errorf("C base install step differs between targets")
	}
	g := marshal(t, CCompile(testSource(), testDebianBuilder(), "hello", all[0], all, WithCCommand("/bin/sh", "-c", "./configure --host=$HOST && make")))
	if _, e := g.exec(t, "/bin/sh", "-c", `"$@" && cp /src/hello /out/hello`, "sh", "/bin/sh", "-c"); e.Meta.Args[6] != "./configure --host=$HOST && make" {
		t.Errorf("args %q", e.Meta.Args)
	}
	for _, tt := range []struct {
		artifact string
		opts     []COption
		want     string
	}{
		{"../x", nil, `artifact "../x"`},
		{"/abs", nil, `artifact "/abs"`},
		{"a b", nil, `artifact "a b"`},
		{"hello", []COption{WithCEnv("CC=clang")}, "WithCEnv"},
		{"hello", []COption{WithCCommand()}, "WithCCommand"},
	} {
		err := marshalErr(t, CCompile(testSource(), testDebianBuilder(), tt.artifact, all[1], all, tt.opts...))
		if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "c build for linux/arm64") {
			t.Errorf("error %q does not contain %q", err, tt.want)
		}
	}
}
