package llb

import (
	"strings"
	"testing"

	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"

	"github.com/crossllb/crossllb/platforms"
)

// trowUser is the Trow recipe's service user.
func trowUser() SystemUser {
	return SystemUser{Name: "trow", Dirs: []string{"/data/layers", "/data/scratch", "/certs"}}
}

// nativeExec returns the one native step whose script (the file mounted
// at /crossllb/step.sh) contains s, and the script.
func (g *graph) nativeExec(t *testing.T, s string) (digest.Digest, *pb.ExecOp, string) {
	t.Helper()
	var found []digest.Digest
	var scripts []string
	for _, d := range g.execs("/bin/sh", nativeScriptPath) {
		e := g.ops[d].GetExec()
		_, fileOp := g.input(t, d, mount(t, e, nativeScriptDir).Input)
		script := string(fileOp.GetFile().GetActions()[0].GetMkfile().GetData())
		if strings.Contains(script, s) {
			found = append(found, d)
			scripts = append(scripts, script)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one native step whose script contains %q, found %d", s, len(found))
	}
	return found[0], g.ops[found[0]].GetExec(), scripts[0]
}

// TestNativeRuntimeStageRunsNothingForTheTarget is the no-emulation
// promise, read off the marshalled graph: with WithBuildTools, the Trow
// recipe's runtime stage for a foreign target has no exec op with the
// target's platform; its steps run on the build platform with the target
// root mounted, in the order given, beside the compile.
func TestNativeRuntimeStageRunsNothingForTheTarget(t *testing.T) {
	build := buildPlatform()
	all := allToolchains(t)
	for _, tc := range all[1:] { // arm64, arm/v7
		target := platforms.Format(tc.Platform)
		t.Run(target, func(t *testing.T) {
			st := CargoImage(testSource(), testDebianBuilder(), testRuntime(tc.Platform), "trow", tc, all,
				ImageSpec{User: trowUser().ConfigUser()},
				WithBuildTools(testRuntime(build)), WithAptInstall("libssl3", "ca-certificates"), WithSystemUser(trowUser()))
			g := marshal(t, st.Runtime)
			for _, d := range g.order {
				if g.ops[d].GetExec() == nil {
					continue
				}
				if got := opPlatform(g.ops[d]); got != platforms.Format(build) {
					t.Errorf("exec %q runs on %s, want the build platform %s", g.names[d], got, platforms.Format(build))
				}
			}
			apt, ae, aptScript := g.nativeExec(t, "apt-get install -y --download-only")
			user, ue, userScript := g.nativeExec(t, "useradd --prefix /target")
			if !strings.Contains(aptScript, "A="+tc.DebianArch+" ") || !strings.Contains(aptScript, `PKGS="ca-certificates libssl3"`) {
				t.Errorf("apt script does not install ca-certificates libssl3 for %s:\n%s", tc.DebianArch, aptScript)
			}
			wantUser := "set -e\ngroupadd --prefix /target --system -K SYS_GID_MIN=333333 -K SYS_GID_MAX=333333 --gid 333333 trow\n" +
				"useradd --prefix /target --system -K SYS_UID_MIN=333333 -K SYS_UID_MAX=333333 --no-log-init --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --uid 333333 --gid 333333 trow\n" +
				"mkdir -p /target/data/layers /target/data/scratch /target/certs\nchown 333333:333333 /target/data/layers /target/data/scratch /target/certs\n"
			if userScript != wantUser {
				t.Errorf("user script %q\nwant %q", userScript, wantUser)
			}
			if want := "add user trow 333333:333333, dirs /data/layers /data/scratch /certs (" + target + ", natively on linux/amd64)"; g.names[user] != want {
				t.Errorf("user step named %q, want %q", g.names[user], want)
			}
			// The target root is the mount at /target, and it flows: base
			// image -> apt -> user -> binary.
			aptRoot := mount(t, ae, targetRoot)
			if in, op := g.input(t, apt, aptRoot.Input); !strings.HasPrefix(op.GetSource().GetIdentifier(), "docker-image://docker.io/library/debian:bookworm-slim@") || opPlatform(op) != target {
				t.Errorf("apt step's /target is %s on %s, want the %s runtime base", g.names[in], opPlatform(op), target)
			}
			if in, _ := g.input(t, user, mount(t, ue, targetRoot).Input); in != apt {
				t.Errorf("user step's /target is %q, want the apt step's result", g.names[in])
			}
			if out := mount(t, ue, targetRoot).Output; out < 0 {
				t.Error("the user step's /target mount has no output")
			}
			end := digest.Digest(g.result.Digest)
			if in, _ := g.input(t, end, 0); in != user {
				t.Errorf("the binary's copy is on %q, want the user step's /target", g.names[in])
			}
			cargo, _ := g.shellExec(t, "cargo build")
			for _, d := range []digest.Digest{apt, user} {
				if g.dependsOn(d, cargo) {
					t.Errorf("%q waits for cargo build", g.names[d])
				}
			}
			// The tools are readied for apt once: the same op for every
			// target, on the build platform.
			if root := mount(t, ae, "/"); root.Input < 0 {
				t.Fatal("apt step has no root input")
			} else if _, op := g.input(t, apt, root.Input); !strings.Contains(strings.Join(op.GetExec().GetMeta().GetArgs(), " "), "update-ca-certificates") {
				t.Error("the apt step's tools are not the readied tools image")
			}
		})
	}
}

// TestNativeRuntimeStageOnTheBuildPlatform: a target that is the tools'
// own platform runs its steps in the target itself, as before.
func TestNativeRuntimeStageOnTheBuildPlatform(t *testing.T) {
	build := buildPlatform()
	g := marshal(t, RuntimeStage(testRuntime(build), nil, WithBuildTools(testRuntime(build)),
		WithAptInstall("ca-certificates"), WithSystemUser(trowUser())))
	if len(g.execs("/bin/sh", "-c")) != 2 || len(g.execs("/bin/sh", nativeScriptPath)) != 0 {
		t.Fatalf("want 2 steps in the target, found %d, and %d native ones", len(g.execs("/bin/sh", "-c")), len(g.execs("/bin/sh", nativeScriptPath)))
	}
	for _, d := range g.execs("/bin/sh", "-c") {
		e := g.ops[d].GetExec()
		if strings.Contains(e.Meta.Args[2], "/target") || len(e.Mounts) != 1 {
			t.Errorf("step %q on the build platform uses a /target mount: %q", g.names[d], e.Meta.Args[2])
		}
	}
}

// TestEmulatedStep: Emulated keeps a step on the target and marks it as
// meant to be emulated, for the solver's forbid policy.
func TestEmulatedStep(t *testing.T) {
	target := platforms.MustParse("linux/arm64")
	g := marshal(t, RuntimeStage(testRuntime(target), nil, WithBuildTools(testRuntime(buildPlatform())),
		Emulated(WithAptInstall("tzdata")), WithSystemUser(trowUser())))
	def, err := RuntimeStage(testRuntime(target), nil, WithBuildTools(testRuntime(buildPlatform())),
		Emulated(WithAptInstall("tzdata"))).Marshal(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	d, _ := g.shellExec(t, "apt-get install -y --no-install-recommends tzdata;")
	if opPlatform(g.ops[d]) != "linux/arm64" {
		t.Errorf("emulated apt step runs on %s", opPlatform(g.ops[d]))
	}
	if def.Metadata[d].Description[emulationAllowedKey] != "allowed" {
		t.Errorf("emulated step's description %v lacks %s=allowed", def.Metadata[d].Description, emulationAllowedKey)
	}
	if u, _, _ := g.nativeExec(t, "useradd --prefix"); opPlatform(g.ops[u]) != "linux/amd64" {
		t.Errorf("the user step beside an Emulated one runs on %s", opPlatform(g.ops[u]))
	}
	for _, tt := range []struct {
		opt  RuntimeOption
		want string
	}{
		{Emulated(nil), "Emulated(nil)"},
		{WithBuildTools(Scratch(buildPlatform())), "WithBuildTools"},
		{WithBuildTools(Base{Ref: "debian"}), "no platform"},
	} {
		if err := marshalErr(t, RuntimeStage(testRuntime(target), nil, tt.opt)); !strings.Contains(err.Error(), tt.want) {
			t.Errorf("error %q does not contain %q", err, tt.want)
		}
	}
}
