package solver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	bk "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
	"github.com/crossllb/crossllb/solver"
)

func ExampleParseOutput() {
	for _, s := range []string{
		"type=oci,dest=app.tar",
		"type=oci,dest=app,tar=false",
		"type=image,name=127.0.0.1:5000/app:v1,push=true,registry.insecure=true",
		"type=docker,dest=app.tar",
	} {
		o, err := solver.ParseOutput(s)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println(o.Kind, o)
	}
	// Output:
	// oci-tar type=oci,dest=app.tar
	// oci-dir type=oci,dest=app,tar=false
	// registry type=image,name=127.0.0.1:5000/app:v1,push=true,registry.insecure=true
	// error: output "type=docker,dest=app.tar": unknown type "docker" (supported: oci, image, registry)
}

// A two-platform image whose file is written by a step that runs on the
// build platform, and whose runtime stage is per target.
func ExampleClient_Build() {
	if err := run(context.Background(), "example.tar"); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

func run(ctx context.Context, dest string) error {
	c, err := solver.Connect(ctx, "") // $BUILDKIT_HOST, the default socket, or a private buildkitd
	if err != nil {
		return err
	}
	defer c.Close()

	targets, err := platforms.ParseList("linux/amd64,linux/arm64")
	if err != nil {
		return err
	}
	fn := func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		// Runs natively on the build platform, for every target.
		gen := bk.Image("debian:bookworm-slim", bk.Platform(t.BuildPlatform)).
			Run(bk.Shlexf("sh -c 'echo built for %s > /out/target'", platforms.Format(t.Platform)), bk.Platform(t.BuildPlatform)).
			AddMount("/out", bk.Scratch())
		// The runtime stage is the target's.
		rootfs := bk.Scratch().Platform(t.Platform).File(bk.Copy(gen, "/target", "/target"), bk.Platform(t.Platform))
		img := ocispec.Image{Platform: t.Platform}
		img.Config.Cmd = []string{"/target"}
		return rootfs, img, nil
	}
	res, err := c.Build(ctx, targets, fn, solver.WithOutput(solver.OCITar(dest)))
	if err != nil {
		return err
	}
	for _, m := range res.Manifests {
		fmt.Println(platforms.Format(m.Platform), m.Manifest.Digest)
	}
	return nil
}

// Three targets over two buildkitd nodes, one index: a native arm64 node,
// when the fleet has one, builds linux/arm64 with nothing emulated.
func ExampleFleet_Build() {
	ctx := context.Background()
	fleet, err := solver.ConnectFleet(ctx, []string{
		"unix:///run/buildkit/buildkitd.sock",
		"tcp://arm64-builder:1234",
	}, solver.WithTLS("ca.pem", "cert.pem", "key.pem", "")) // for the tcp:// node
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer fleet.Close()
	targets, _ := platforms.ParseList("linux/amd64,linux/arm64,linux/arm/v7")
	plan, err := fleet.Plan(ctx, targets)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Print(plan) // which node builds each target, native or cross-compiled
	fn := func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		st := bk.Scratch().File(bk.Mkfile("/target", 0o644, []byte(platforms.Format(t.Platform))), bk.Platform(t.Platform))
		return st, ocispec.Image{Platform: t.Platform}, nil
	}
	res, err := fleet.Build(ctx, targets, fn,
		solver.WithOutput(solver.OCITar("app.tar"), solver.Registry("registry.example.com/app:v1")),
		solver.WithNodeRetries(1))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Println(res.Index.Digest)
}

// A step that reads a token without baking it into the image: the secret
// is mounted for that step only, and the image gets only the token's hash.
func ExampleWithSecrets() {
	ctx := context.Background()
	c, err := solver.Connect(ctx, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer c.Close()
	fn := func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		st := bk.Image("debian:bookworm-slim", bk.Platform(t.BuildPlatform)).
			Run(bk.Args([]string{"sh", "-c", "sha256sum < /run/secrets/token > /out/token.sha256"}),
				bk.AddSecret("/run/secrets/token", bk.SecretID("token")), bk.Platform(t.BuildPlatform)).
			AddMount("/out", bk.Scratch())
		return st, ocispec.Image{}, nil
	}
	_, err = c.Build(ctx, []ocispec.Platform{platforms.MustParse("linux/amd64")}, fn,
		solver.WithSecrets(solver.SecretEnv("token", "API_TOKEN")), // or solver.SecretFile("token", "token.txt")
		solver.WithOutput(solver.OCITar("app.tar")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

// A CI runner that reports each step per target platform, from typed
// events rather than parsed rawjson, beside the usual display, and logs
// crossllb's own decisions (plan, emulated steps, outputs) as JSON.
func ExampleWithProgressEvents() {
	ctx := context.Background()
	c, err := solver.Connect(ctx, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer c.Close()
	targets, _ := platforms.ParseList("linux/amd64,linux/arm64")
	fn := func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		st := bk.Scratch().File(bk.Mkfile("/target", 0o644, []byte(platforms.Format(t.Platform))), bk.Platform(t.Platform))
		return st, ocispec.Image{Platform: t.Platform}, nil
	}
	report := func(e solver.Event) {
		if e.Vertex == nil || e.Vertex.Started == nil || e.Vertex.Completed == nil {
			return
		}
		var on []string
		for _, p := range e.Targets {
			on = append(on, platforms.Format(p))
		}
		took := e.Vertex.Completed.Sub(*e.Vertex.Started)
		fmt.Printf("%s %v %s cached=%v shared=%v\n", e.Vertex.Name, on, took, e.Vertex.Cached, e.Shared())
	}
	_, err = c.Build(ctx, targets, fn,
		solver.WithProgressEvents(report),
		solver.WithProgress("auto", os.Stderr),
		solver.WithLogger(slog.New(slog.NewJSONHandler(os.Stderr, nil))),
		solver.WithOutput(solver.OCITar("app.tar")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

// A reproducible image on a base image: with a source date epoch, the
// base's layers are exported as they are, shared with the base, once the
// TargetFunc names the base (llb.ResolveBase and llb.RuntimeStage do the
// resolving and the layering for you).
func ExampleTarget_SetBase() {
	ctx := context.Background()
	c, err := solver.Connect(ctx, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer c.Close()
	fn := func(ctx context.Context, t solver.Target) (bk.State, ocispec.Image, error) {
		ref, _, dt, err := t.Resolver.ResolveImageConfig(ctx, "debian:bookworm-slim", sourceresolver.Opt{
			ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &t.Platform},
		})
		if err != nil {
			return bk.State{}, ocispec.Image{}, err
		}
		var base ocispec.Image
		if err := json.Unmarshal(dt, &base); err != nil {
			return bk.State{}, ocispec.Image{}, err
		}
		t.SetBase(base)
		st := bk.Image(ref, bk.Platform(t.Platform)).File(bk.Mkfile("/etc/app.conf", 0o644, []byte("ok\n")), bk.Platform(t.Platform))
		img := base // the base's config and history come first
		img.RootFS.DiffIDs = nil
		img.Created = nil // the epoch
		return st, img, nil
	}
	epoch, _ := solver.ParseSourceDateEpoch("1700000000")
	_, err = c.Build(ctx, []ocispec.Platform{platforms.MustParse("linux/amd64")}, fn,
		solver.WithSourceDateEpoch(epoch), solver.WithOutput(solver.OCITar("app.tar")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

func ExampleParseCompression() {
	for _, s := range []string{"zstd", "type=gzip,level=9", "type=zstd,level=3,force=true", "level=12", "type=lz4"} {
		c, err := solver.ParseCompression(s)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		level := "default"
		if c.Level != nil {
			level = strconv.Itoa(*c.Level)
		}
		fmt.Println(c.Type, level, c.Force)
	}
	// Output:
	// zstd default false
	// gzip 9 false
	// zstd 3 true
	// error: compression gzip level 12: want 0 to 9
	// error: compression "lz4": unknown (want gzip, zstd or uncompressed)
}
