package solver

import (
	"fmt"
	"slices"
	"strings"

	bk "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
)

// EmulationPolicy says what Build does with exec steps that will not run
// natively on the daemon (their platform differs from the worker's native
// one, so they run under QEMU, 5-9x slower for compilers).
type EmulationPolicy string

const (
	// EmulationAllow reports emulated steps in the Result only (default).
	EmulationAllow EmulationPolicy = "allow"
	// EmulationWarn also shows each one as a warning in the progress output.
	EmulationWarn EmulationPolicy = "warn"
	// EmulationForbid fails the build before anything is solved, listing
	// the emulated steps not marked with AllowEmulation.
	EmulationForbid EmulationPolicy = "forbid"
)

// descEmulationAllowed is the op description key AllowEmulation sets.
const descEmulationAllowed = "crossllb.emulation"

// AllowEmulation marks a step (pass it to bk.State.Run) as meant to run
// under emulation, such as useradd or mkdir in a runtime stage, so that
// EmulationForbid lets it through. It is still reported.
func AllowEmulation() bk.ConstraintsOpt {
	return bk.WithDescription(map[string]string{descEmulationAllowed: "allowed"})
}

// EmulatedStep is an exec step that runs under emulation.
type EmulatedStep struct {
	// Target is the image platform whose graph holds the step.
	Target ocispec.Platform `json:"-"`
	// Platform is the step's own platform.
	Platform ocispec.Platform `json:"-"`
	// Name is the step's name in the progress output.
	Name string `json:"name"`
	// Args is the command line.
	Args []string `json:"args"`
	// Allowed is true for steps marked with AllowEmulation.
	Allowed bool          `json:"allowed"`
	Digest  digest.Digest `json:"digest"`
}

// String is one line: the step's name, its platform and the start of its
// command line (a shell script is cut at its first line; Args has it all).
func (s EmulatedStep) String() string {
	return fmt.Sprintf("%s on %s: %s", oneLine(s.Name), platforms.Format(s.Platform), oneLine(strings.Join(s.Args, " ")))
}

// oneLine is s up to its first line break ("..." marks the cut), at most
// 100 bytes.
func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " ..."
	}
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return s
}

// emulatedSteps lists the exec ops of def whose platform is not native.
func emulatedSteps(def *bk.Definition, target, native ocispec.Platform) ([]EmulatedStep, error) {
	var out []EmulatedStep
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			return nil, fmt.Errorf("decoding the definition of %s: %w", platforms.Format(target), err)
		}
		exec := op.GetExec()
		if exec == nil || op.Platform == nil {
			continue
		}
		p := ocispec.Platform{OS: op.Platform.OS, Architecture: op.Platform.Architecture, Variant: op.Platform.Variant}
		if nativeOn(p, native) {
			continue
		}
		d := digest.FromBytes(dt)
		meta := def.Metadata[d]
		name := meta.Description["llb.customname"]
		args := exec.GetMeta().GetArgs()
		if name == "" {
			name = strings.Join(args, " ")
		}
		out = append(out, EmulatedStep{
			Target: target, Platform: p, Name: name, Args: slices.Clone(args),
			Allowed: meta.Description[descEmulationAllowed] == "allowed", Digest: d,
		})
	}
	return out, nil
}

// nativeOn reports whether a step for p runs natively on a worker whose
// native platform is nativeID. Variants of the native architecture
// (amd64/v2, arm/v7 on arm/v7...) run on the CPU itself or not at all: only
// another OS or architecture means emulation.
func nativeOn(p, native ocispec.Platform) bool {
	return p.OS == native.OS && p.Architecture == native.Architecture
}

func forbiddenSteps(steps []EmulatedStep) []string {
	var out []string
	for _, s := range steps {
		if !s.Allowed {
			out = append(out, fmt.Sprintf("%s (image %s)", s, platforms.Format(s.Target)))
		}
	}
	return out
}

// runnable checks that the daemon can run every emulated step at all: a
// platform with no QEMU handler registered would otherwise fail deep in the
// solve with "exec format error".
func runnable(steps []EmulatedStep, workers []Worker) error {
	can := map[string]bool{}
	var list []string
	for _, w := range workers {
		for _, p := range w.Platforms {
			id := platforms.Format(p)
			if !can[id] {
				can[id] = true
				list = append(list, id)
			}
		}
	}
	for _, s := range steps {
		if id := platforms.Format(s.Platform); !can[id] {
			return fmt.Errorf("%s (image %s): buildkitd cannot run %s steps: no emulator is registered for it (it runs %s); register QEMU's binfmt_misc handler for it (hack/setup does so for arm64, arm, riscv64, ppc64le, s390x), or drop the step or the platform",
				s, platforms.Format(s.Target), id, strings.Join(list, ", "))
		}
	}
	return nil
}
