// Package solver connects to buildkitd and builds every target of a
// multi-platform image in ONE BuildKit build, letting BuildKit's own
// exporter write ONE OCI image index: an OCI layout tar, an OCI layout
// directory, or a registry push.
//
// Connect finds a daemon the way BuildKit tools do (an address, else
// $BUILDKIT_HOST, else the default socket), and when there is none starts a
// private buildkitd that Close stops:
//
//	c, err := solver.Connect(ctx, "") // or "unix:///run/buildkit/buildkitd.sock", "tcp://host:1234", "docker-container://buildkitd"
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//
// Build takes the target platforms and a TargetFunc that returns each
// target's graph and image config. The function is told the daemon's native
// platform (Target.BuildPlatform): compile steps belong there, so that nothing
// compiles under emulation; package github.com/crossllb/crossllb/llb builds
// such graphs.
//
//	res, err := c.Build(ctx, targets, fn,
//		solver.WithLocal("context", "."),
//		solver.WithOutput(solver.OCITar("app.tar")),
//		solver.WithProgress("auto", os.Stderr),
//		solver.WithMetadataFile("metadata.json"))
//
// Every target is solved concurrently inside the one build and added to the
// result under its platform, with its image config and the refs.platforms
// metadata: the exporter does the rest. Outputs are typed (OCITar, OCIDir,
// Registry; ParseOutput reads buildx's --output syntax), written to a
// temporary path and renamed once the build has succeeded, so a failed build
// leaves nothing at the destination. Registry credentials come from the
// Docker config file through BuildKit's auth provider.
//
// Connect refuses a buildkitd older than MinDaemonVersion (v0.31.2, which
// fixed GHSA-hw3h-2gp9-cxpv and others); WithMinDaemonVersion changes the
// floor. A build asks the daemon for no entitlement (no host network, no
// privileged steps) and shares only the locals given with WithLocal.
// WithSecrets serves secrets (SecretFile, SecretEnv) to the steps that
// mount them (bk.AddSecret): they reach no layer, cache key or record.
//
// WithProgress shows BuildKit's progress display; WithProgressEvents hands
// a program the same progress as typed Events, each vertex with the target
// platforms whose graphs hold it (and, in a fleet, the node building it).
// WithLogger sends crossllb's own messages (the plan, each emulated step,
// each verified binary, each output written) to a log/slog Logger.
//
// Errors found before anything is solved (a TargetFunc's, a graph that
// does not marshal, a local no WithLocal provides, the emulation guard)
// are returned as they are, not as a BuildKit solve error.
//
// The Result carries the index descriptor and each platform's manifest and
// config descriptors, read back from what was written; WriteMetadataFile
// writes them in buildx's --metadata-file shape.
//
// A Fleet is several buildkitd nodes building one index: Plan puts each
// target on a node whose native platform it is, else spreads the
// cross-compiled targets by load; Fleet.Build builds each target on its
// node and assembles ONE index from their manifests (an OCI tar or
// directory merged on the client, or a registry index pushed after every
// node pushed its manifests by digest):
//
//	fleet, err := solver.ConnectFleet(ctx, []string{"unix:///run/buildkit/buildkitd.sock", "tcp://arm64:1234"}, solver.WithTLS(ca, cert, key, ""))
//	res, err := fleet.Build(ctx, targets, fn, solver.WithOutput(solver.OCITar("app.tar")))
//
// This package does not import github.com/crossllb/crossllb/llb: it solves
// any LLB graph.
package solver
