package llb

import (
	"slices"
	"testing"

	"github.com/moby/buildkit/solver/pb"

	"github.com/crossllb/crossllb/platforms"
)

// WithNetrcSecret mounts the secret on both go steps, read-only for root,
// with NETRC pointing at it; the graph carries the secret's ID only.
func TestGoCompileNetrcSecret(t *testing.T) {
	tc := toolchain(t, platforms.MustParse("linux/arm64"))
	g := marshal(t, GoCompile(testSource(), testBuilder(), tc, WithNetrcSecret("netrc")))
	for _, args := range [][]string{{"go", "mod", "download"}, {"go", "build"}} {
		_, e := g.exec(t, args...)
		var secret *pb.Mount
		for _, m := range e.Mounts {
			if m.MountType == pb.MountType_SECRET {
				if secret != nil {
					t.Fatalf("%q: two secret mounts", args)
				}
				secret = m
			}
		}
		if secret == nil {
			t.Fatalf("%q: no secret mount", args)
		}
		so := secret.SecretOpt
		if secret.Dest != goNetrcPath || so.ID != "netrc" || so.Optional || so.Uid != 0 || so.Gid != 0 || so.Mode != 0o400 {
			t.Errorf("%q: secret mount %+v, want netrc at %s, required, 0:0 mode 0400", args, secret, goNetrcPath)
		}
		if !slices.Contains(e.Meta.Env, "NETRC="+goNetrcPath) {
			t.Errorf("%q: env %q lacks NETRC=%s", args, e.Meta.Env, goNetrcPath)
		}
	}
	if err := marshalErr(t, GoCompile(testSource(), testBuilder(), tc, WithNetrcSecret(""))); err == nil {
		t.Error("an empty secret ID was accepted")
	}
}

// No preset mounts a secret it was not given, or asks for the host's
// network or for privileges (entitlements the build would need).
func TestPresetsAskForNoEntitlementsOrSecrets(t *testing.T) {
	all := allToolchains(t)
	tc := all[1]
	stages := GoImage(testSource(), testBuilder(), testRuntime(tc.Platform), tc, ImageSpec{})
	cargo := CargoImage(testSource(), testDebianBuilder(), testRuntime(tc.Platform), "hello", tc, all, ImageSpec{}, WithAptInstall("ca-certificates"))
	for name, g := range map[string]*graph{
		"GoImage compile": marshal(t, stages.Compile),
		"GoImage runtime": marshal(t, stages.Runtime),
		"CargoImage":      marshal(t, cargo.Runtime),
		"CCompile":        marshal(t, CCompile(testSource(), testDebianBuilder(), "build/hello", tc, all)),
	} {
		execs := 0
		for _, d := range g.order {
			e := g.ops[d].GetExec()
			if e == nil {
				continue
			}
			execs++
			if e.Network != pb.NetMode_UNSET || e.Security != pb.SecurityMode_SANDBOX {
				t.Errorf("%s: %q asks for network %v, security %v", name, g.names[d], e.Network, e.Security)
			}
			for _, m := range e.Mounts {
				if m.MountType == pb.MountType_SECRET || m.MountType == pb.MountType_SSH {
					t.Errorf("%s: %q mounts %v %s unasked", name, g.names[d], m.MountType, m.Dest)
				}
			}
		}
		if execs == 0 && name != "GoImage runtime" {
			t.Errorf("%s: no exec op to check", name)
		}
	}
}
