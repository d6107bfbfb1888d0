package llb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	bk "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/llb"
	"github.com/crossllb/crossllb/platforms"
)

// indexResolver stands in for a BuildKit gateway client: it serves one
// multi-platform image whose config lists the platform it was asked for.
type indexResolver struct{ digest digest.Digest }

func (r indexResolver) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	img := ocispec.Image{
		Platform: *opt.ImageOpt.Platform,
		Config: ocispec.ImageConfig{
			Env: []string{"PATH=/usr/local/go/bin:/usr/local/bin:/usr/bin:/bin", "GOPATH=/go"},
			Cmd: []string{"bash"},
		},
	}
	dt, err := json.Marshal(img)
	return ref, r.digest, dt, err
}

// Build one Go program for three targets from a linux/amd64 worker: the
// compile ops all run on linux/amd64, the runtime ops on each target.
func Example() {
	if err := run(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// linux/amd64: go build ./cmd/server on linux/amd64 with GOARCH=amd64, runtime steps on [linux/amd64]
	// linux/arm64: go build ./cmd/server on linux/amd64 with GOARCH=arm64, runtime steps on [linux/arm64]
	// linux/arm/v7: go build ./cmd/server on linux/amd64 with GOARCH=arm GOARM=7, runtime steps on [linux/arm/v7]
	// distinct "go mod download" ops: 1
}

func run(ctx context.Context) error {
	resolver := indexResolver{digest: digest.FromString("an image index")}
	src := bk.Local("context", bk.LocalUniqueID("example"))
	build := platforms.MustParse("linux/amd64")

	builder, err := llb.ResolveBase(ctx, resolver, "golang:1.26-bookworm", build)
	if err != nil {
		return err
	}
	downloads := map[string]bool{}
	for _, target := range []string{"linux/amd64", "linux/arm64", "linux/arm/v7"} {
		p := platforms.MustParse(target)
		runtime, err := llb.ResolveBase(ctx, resolver, "debian:bookworm-slim", p)
		if err != nil {
			return err
		}
		tc, err := platforms.ToolchainFor(p)
		if err != nil {
			return err
		}
		app := llb.SystemUser{Name: "app"}
		st := llb.GoImage(src, builder, runtime, tc, llb.ImageSpec{User: app.ConfigUser()},
			llb.WithPackage("./cmd/server"), llb.WithSystemUser(app))

		def, err := st.Runtime.Marshal(ctx)
		if err != nil {
			return err
		}
		var buildOn, goEnv string
		var runtimeOn []string
		for _, dt := range def.Def {
			var op pb.Op
			if err := op.Unmarshal(dt); err != nil {
				return err
			}
			e := op.GetExec()
			if e == nil {
				continue
			}
			on := platforms.Format(ocispec.Platform{OS: op.Platform.OS, Architecture: op.Platform.Architecture, Variant: op.Platform.Variant})
			switch e.Meta.Args[0] + " " + e.Meta.Args[1] {
			case "go build":
				buildOn = on
				for _, kv := range e.Meta.Env {
					if strings.HasPrefix(kv, "GOARCH=") || strings.HasPrefix(kv, "GOARM=") {
						goEnv += " " + kv
					}
				}
			case "go mod":
				downloads[digest.FromBytes(dt).String()] = true
			default:
				runtimeOn = append(runtimeOn, on)
			}
		}
		fmt.Printf("%s: go build ./cmd/server on %s with%s, runtime steps on %v\n", target, buildOn, goEnv, runtimeOn)
	}
	fmt.Printf("distinct \"go mod download\" ops: %d\n", len(downloads))
	return nil
}

// GoCompile's build step, as BuildKit will run it.
func ExampleGoCompile() {
	tc, err := platforms.ToolchainFor(platforms.MustParse("linux/arm64"))
	if err != nil {
		fmt.Println(err)
		return
	}
	builder := llb.Base{Ref: "golang:1.26", Platform: platforms.MustParse("linux/amd64")}
	st := llb.GoCompile(bk.Local("context"), builder, tc,
		llb.WithPackage("./cmd/server"),
		llb.WithLDFlags("-s -w"),
		llb.WithTags("netgo"),
	)
	def, err := st.Marshal(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, md := range def.Metadata {
		if name := md.Description["llb.customname"]; strings.HasPrefix(name, "go build") {
			fmt.Println(name)
		}
	}
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.Unmarshal(dt); err != nil {
			fmt.Println(err)
			return
		}
		if e := op.GetExec(); e != nil && e.Meta.Args[1] == "build" {
			fmt.Printf("%q\n", e.Meta.Args)
		}
	}
	// Output:
	// go build ./cmd/server (linux/arm64)
	// ["go" "build" "-trimpath" "-tags=netgo" "-ldflags=-s -w" "-o" "/out/server" "./cmd/server"]
}

// An invalid option does not stop the graph from being built: it fails at
// Marshal, naming the option and the target.
func ExampleGoOption() {
	tc, _ := platforms.ToolchainFor(platforms.MustParse("linux/arm/v7"))
	builder := llb.Base{Ref: "golang:1.26", Platform: platforms.MustParse("linux/amd64")}
	st := llb.GoCompile(bk.Local("context"), builder, tc, llb.WithPackage("../app"))
	_, err := st.Marshal(context.Background())
	fmt.Println(err)
	// Output:
	// go compile for linux/arm/v7: WithPackage("../app"): the package is outside the module
}

// The config of a runtime image: the base's environment and ports are
// kept, the entrypoint replaces the base's and clears its cmd.
func ExampleImageConfig() {
	base := llb.Base{
		Ref:      "debian:bookworm-slim",
		Platform: platforms.MustParse("linux/arm/v7"),
		Config: ocispec.Image{Config: ocispec.ImageConfig{
			Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"},
			Cmd: []string{"bash"},
		}},
	}
	img := llb.ImageConfig(base, llb.ImageSpec{
		Entrypoint:   []string{"/usr/local/bin/server"},
		Env:          []string{"LANG=en_US.UTF-8", "PORT=8080"},
		User:         "65532",
		ExposedPorts: []string{"8080"},
		Labels:       llb.OCIAnnotations{Version: "1.2.3"}.Map(),
	})
	out, _ := json.MarshalIndent(struct {
		Architecture, Variant string
		Config                ocispec.ImageConfig
	}{img.Architecture, img.Variant, img.Config}, "", "  ")
	fmt.Println(string(out))
	// Output:
	// {
	//   "Architecture": "arm",
	//   "Variant": "v7",
	//   "Config": {
	//     "User": "65532",
	//     "ExposedPorts": {
	//       "8080/tcp": {}
	//     },
	//     "Env": [
	//       "PATH=/usr/local/bin:/usr/bin:/bin",
	//       "LANG=en_US.UTF-8",
	//       "PORT=8080"
	//     ],
	//     "Entrypoint": [
	//       "/usr/local/bin/server"
	//     ],
	//     "Labels": {
	//       "org.opencontainers.image.version": "1.2.3"
	//     }
	//   }
	// }
}

func ExampleOCIAnnotations_Map() {
	m := llb.OCIAnnotations{
		Source:   "https://github.com/example/app",
		Revision: "0123abcd",
		Licenses: "Apache-2.0",
	}.Map()
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Printf("%s=%s\n", k, m[k])
	}
	// Output:
	// org.opencontainers.image.licenses=Apache-2.0
	// org.opencontainers.image.revision=0123abcd
	// org.opencontainers.image.source=https://github.com/example/app
}

// A runtime stage on scratch with two files from other stages.
func ExampleRuntimeStage() {
	target := platforms.MustParse("linux/arm64")
	bin := bk.Scratch().File(bk.Mkfile("/app", 0o755, []byte("binary")))
	conf := bk.Scratch().File(bk.Mkfile("/app.yaml", 0o644, []byte("port: 8080")))
	st := llb.RuntimeStage(llb.Scratch(target), []llb.Artifact{
		{From: bin, Path: "/app", Dest: "/app"},
		{From: conf, Path: "/app.yaml", Dest: "/etc/app/app.yaml", UID: 65532, GID: 65532, Mode: 0o600},
	})
	def, err := st.Marshal(context.Background(), bk.Platform(target))
	if err != nil {
		fmt.Println(err)
		return
	}
	var last pb.Op
	if err := last.Unmarshal(def.Def[len(def.Def)-2]); err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range last.GetFile().GetActions() {
		c := a.GetCopy()
		mode := "kept"
		if c.Mode >= 0 {
			mode = fmt.Sprintf("%o", c.Mode)
		}
		fmt.Printf("%s -> %s owner %d:%d mode %s\n", c.Src, c.Dest, c.Owner.User.GetByID(), c.Owner.Group.GetByID(), mode)
	}
	// Output:
	// /app -> /app owner 0:0 mode kept
	// /app.yaml -> /etc/app/app.yaml owner 65532:65532 mode 600
}

// The Trow recipe's runtime stage for linux/arm64 without emulation: the
// runtime base resolved for the build platform (here written out, as
// ResolveBase returns it) is the tools image, and every exec step runs on
// the build platform with the arm64 root mounted at /target.
func ExampleWithBuildTools() {
	build, target := platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64")
	base := llb.Base{Ref: "docker.io/library/debian:bookworm-slim", Platform: target}
	tools := llb.Base{Ref: "docker.io/library/debian:bookworm-slim", Platform: build}
	st := llb.RuntimeStage(base, nil,
		llb.WithBuildTools(tools),
		llb.WithAptInstall("ca-certificates", "libssl3"),
		llb.WithSystemUser(llb.SystemUser{Name: "trow", Dirs: []string{"/data/layers", "/certs"}}))
	def, err := st.Marshal(context.Background(), bk.Platform(target))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.Unmarshal(dt); err != nil {
			fmt.Println(err)
			return
		}
		if op.GetExec() != nil {
			fmt.Println(def.Metadata[digest.FromBytes(dt)].Description["llb.customname"], "runs on", op.Platform.Architecture)
		}
	}
	// Output:
	// ready docker.io/library/debian:bookworm-slim for native apt steps: ca-certificates, openssl (linux/amd64) runs on amd64
	// apt-get install ca-certificates libssl3 (linux/arm64, natively on linux/amd64) runs on amd64
	// add user trow 333333:333333, dirs /data/layers /certs (linux/arm64, natively on linux/amd64) runs on amd64
}
