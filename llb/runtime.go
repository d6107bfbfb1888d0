package llb

import (
	"fmt"
	"os"
	"path"
	"strings"

	bk "github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
)

// Artifact is a file copied from a build stage into a runtime stage.
type Artifact struct {
	// From is the state holding the file, e.g. GoCompile's result.
	From bk.State
	// Path is the file's path in From ("/app").
	Path string
	// Dest is the file's absolute path in the image
	// ("/usr/local/bin/app"). Missing parent directories are created.
	Dest string
	// UID and GID own the copied file (default 0:0).
	UID, GID int
	// Mode is the file's permission bits; 0 keeps the source's mode.
	Mode os.FileMode
}

func (a Artifact) validate() error {
	switch {
	case a.Path == "":
		return fmt.Errorf("artifact for %q: empty Path", a.Dest)
	case !path.IsAbs(a.Dest):
		return fmt.Errorf("artifact %q: Dest %q is not an absolute path", a.Path, a.Dest)
	case a.UID < 0 || a.GID < 0:
		return fmt.Errorf("artifact %q: negative owner %d:%d", a.Path, a.UID, a.GID)
	case a.Mode&^os.ModePerm != 0:
		return fmt.Errorf("artifact %q: Mode %v has bits other than permissions", a.Path, a.Mode)
	}
	return nil
}

// RuntimeOption configures [RuntimeStage]. Options are checked when
// applied: an invalid one makes the runtime state fail at Marshal.
type RuntimeOption func(*runtimeOptions) error

type runtimeOptions struct {
	steps []runtimeStep
	tools *Base // WithBuildTools
}

// runtimeStep is one exec op of the runtime stage; name, when set, is its
// vertex name instead of its command line. onArtifacts steps run after the
// artifacts are copied, the others before. native, when set, is the same
// step as a script for the build-platform tools image with the target root
// at /target (see WithBuildTools), given the target's Debian architecture;
// aptTools says that script needs the tools readied for apt. emulated
// keeps the step on the target (Emulated).
type runtimeStep struct {
	args        []string
	name        string
	env         []string
	onArtifacts bool
	native      func(debianArch string) string
	aptTools    bool
	emulated    bool
}

// WithRun adds a step run in the runtime stage on the TARGET platform,
// before the artifacts are copied in: BuildKit emulates it when the target
// is foreign to the worker, so keep such steps trivial (useradd, mkdir,
// chown). args[0] is looked up on the base image's PATH. Because the step
// does not depend on the compile, it runs while the compile does, and a
// source change that only changes the artifacts does not run it again.
// To act on an artifact (setcap, a self-test), use [WithRunOnArtifacts].
func WithRun(args ...string) RuntimeOption { return runOption("WithRun", args, false) }

// WithRunOnArtifacts adds a step run in the runtime stage on the TARGET
// platform after the artifacts are copied, for what must see them (setcap
// on a binary, a self-test). It runs again whenever an artifact changes,
// after the compile, emulated on a foreign target: prefer [Artifact]'s
// UID, GID and Mode over a chown or chmod step.
func WithRunOnArtifacts(args ...string) RuntimeOption {
	return runOption("WithRunOnArtifacts", args, true)
}

// runOption is WithRun (onArtifacts false) or WithRunOnArtifacts: fn names
// it in the error for an empty command.
func runOption(fn string, args []string, onArtifacts bool) RuntimeOption {
	return func(o *runtimeOptions) error {
		if len(args) == 0 || args[0] == "" {
			return fmt.Errorf("%s(%q): want a command", fn, args)
		}
		o.steps = append(o.steps, runtimeStep{args: append([]string(nil), args...), onArtifacts: onArtifacts})
		return nil
	}
}

// WithShell is [WithRun] for a /bin/sh -c script; the base image needs a
// shell.
func WithShell(script string) RuntimeOption {
	return func(o *runtimeOptions) error {
		if strings.TrimSpace(script) == "" {
			return fmt.Errorf("WithShell(%q): empty script", script)
		}
		o.steps = append(o.steps, runtimeStep{args: []string{"/bin/sh", "-c", script}})
		return nil
	}
}

// newRuntimeOptions applies opts in order.
func newRuntimeOptions(opts []RuntimeOption) (*runtimeOptions, error) {
	o := &runtimeOptions{}
	if err := applyOptions(o, opts); err != nil {
		return nil, err
	}
	return o, nil
}

// RuntimeStage builds the per-target image filesystem: base.State(), then
// the steps of [WithRun], [WithShell], [WithAptInstall] and
// [WithSystemUser] in order, then the artifacts copied in by one file op
// (one layer; parent directories created, owner and mode set), then the
// steps of [WithRunOnArtifacts]. The layers are in the order of the
// hand-written Dockerfile, the binary last: the target's steps, emulated
// on a foreign target, depend on the base image only, so BuildKit runs
// them while the compile runs and keeps them cached across source changes.
// Every exec op carries base.Platform, the target; the copy is a file op,
// which LLB runs natively whatever the platform.
func RuntimeStage(base Base, artifacts []Artifact, opts ...RuntimeOption) bk.State {
	target := formatPlatform(base.Platform)
	if err := checkPlatform(fmt.Sprintf("runtime stage: base image %q", base.Ref), base.Platform); err != nil {
		return failed(err)
	}
	if err := checkWindowsBase(base); err != nil {
		return failed(fmt.Errorf("runtime stage: %w", err))
	}
	o, err := newRuntimeOptions(opts)
	if err != nil {
		return failed(fmt.Errorf("runtime stage for %s: %w", target, err))
	}
	on := bk.Platform(base.Platform)
	rs := stepRunner{on: on, target: target}
	if o.tools != nil && !sameArch(base.Platform, o.tools.Platform) {
		rs.tools = o.tools
		rs.debianArch = debianArchOf(base.Platform)
	}

	st := rs.run(base.State(), o.steps, false)
	if len(artifacts) > 0 {
		var fa *bk.FileAction
		dests := make([]string, 0, len(artifacts))
		for _, a := range artifacts {
			if err := a.validate(); err != nil {
				return failed(fmt.Errorf("runtime stage for %s: %w", target, err))
			}
			info := &bk.CopyInfo{
				CreateDestPath: true,
				ChownOpt: &bk.ChownOpt{
					User:  &bk.UserOpt{UID: a.UID},
					Group: &bk.UserOpt{UID: a.GID},
				},
			}
			if a.Mode != 0 {
				info.Mode = &bk.ChmodOpt{Mode: a.Mode}
			}
			fa = fa.Copy(a.From, a.Path, a.Dest, info)
			dests = append(dests, a.Dest)
		}
		st = st.File(fa, on, bk.WithCustomNamef("copy %s (%s)", strings.Join(dests, " "), target))
	}
	return rs.run(st, o.steps, true)
}

// stepRunner adds runtime steps to a target's state: on the target
// platform, or, for steps that have a native form when tools is set, in
// the build-platform tools image with the target root mounted.
type stepRunner struct {
	on         bk.ConstraintsOpt
	target     string
	tools      *Base  // nil: every step runs on the target
	debianArch string // the target's, for native apt steps ("" if unknown)
	aptTools   *bk.State
}

// run runs on st, in order, the steps whose onArtifacts is as given.
func (r *stepRunner) run(st bk.State, steps []runtimeStep, onArtifacts bool) bk.State {
	for _, step := range steps {
		if step.onArtifacts != onArtifacts {
			continue
		}
		name := step.name
		if name == "" {
			name = strings.Join(step.args, " ")
		}
		if r.tools != nil && step.native != nil && !step.emulated {
			st = r.native(st, step, name)
			continue
		}
		runOpts := []bk.RunOption{
			bk.Args(step.args),
			r.on,
			bk.WithCustomNamef("%s (%s)", name, r.target),
		}
		if step.emulated {
			runOpts = append(runOpts, bk.WithDescription(map[string]string{emulationAllowedKey: "allowed"}))
		}
		st = st.Run(append(runOpts, userEnv(step.env)...)...).Root()
	}
	return st
}

// native runs step's native form on the build platform against st.
func (r *stepRunner) native(st bk.State, step runtimeStep, name string) bk.State {
	build := formatPlatform(r.tools.Platform)
	if step.aptTools && r.debianArch == "" {
		return failed(fmt.Errorf("runtime stage for %s: %s: no Debian architecture is known for %s: use Emulated(...) for this step", r.target, name, r.target))
	}
	tools := r.tools.State()
	if step.aptTools {
		if r.aptTools == nil {
			ready := tools.Run(bk.Args([]string{"/bin/sh", "-c", aptToolsScript}), bk.Platform(r.tools.Platform),
				bk.WithCustomNamef("ready %s for native apt steps: ca-certificates, openssl (%s)", r.tools.Ref, build)).Root()
			r.aptTools = &ready
		}
		tools = *r.aptTools
	}
	return nativeStep(tools, bk.Platform(r.tools.Platform), st, step.native(r.debianArch), step.env,
		fmt.Sprintf("%s (%s, natively on %s)", name, r.target, build))
}

// debianArchOf is p's Debian architecture, or "" when crossllb has no
// toolchain row for p.
func debianArchOf(p ocispec.Platform) string {
	tc, err := platforms.ToolchainFor(p)
	if err != nil {
		return ""
	}
	return tc.DebianArch
}
