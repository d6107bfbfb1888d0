package solver

import (
	"context"
	"log/slog"
	"strings"

	"github.com/crossllb/crossllb/platforms"
)

// WithLogger sends crossllb's own messages about the build to l, as
// structured records with one attribute per fact (BuildKit's progress goes
// to WithProgress and WithProgressEvents):
//
//   - "plan", at Info, once per target before it is built: target, node,
//     build (the node's platform) and native (false: cross-compiled);
//   - "emulated step", at Info (Warn with EmulationWarn), once per exec
//     step that runs under emulation: target, platform, step, args,
//     allowed, node;
//   - "verified binary", at Info, once per binary WithVerify checked:
//     target, path, found, static, interpreter, glibc_needed,
//     image_glibc, libraries, node;
//   - "node failed, retrying", at Warn, when a fleet moves a target to
//     another node (WithNodeRetries): target, node, next, error;
//   - "output written", at Info, once per output after the build:
//     output, kind, dest or name, index (the index digest).
//
// Without WithLogger (or with nil) nothing is logged.
func WithLogger(l *slog.Logger) BuildOption {
	return func(o *buildOptions) error {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		o.logger = l
		return nil
	}
}

func (o *buildOptions) logPlan(ctx context.Context, plan Plan) {
	for _, a := range plan {
		o.logger.LogAttrs(ctx, slog.LevelInfo, "plan",
			slog.String("target", platforms.Format(a.Target)), slog.String("node", a.Node),
			slog.String("build", platforms.Format(a.Build)), slog.Bool("native", a.Native))
	}
}

func (o *buildOptions) logEmulated(ctx context.Context, node string, steps []EmulatedStep) {
	level := slog.LevelInfo
	if o.emulation == EmulationWarn {
		level = slog.LevelWarn
	}
	for _, s := range steps {
		o.logger.LogAttrs(ctx, level, "emulated step",
			slog.String("target", platforms.Format(s.Target)), slog.String("platform", platforms.Format(s.Platform)),
			slog.String("step", s.Name), slog.String("args", strings.Join(s.Args, " ")),
			slog.Bool("allowed", s.Allowed), slog.String("node", node))
	}
}

func (o *buildOptions) logVerified(ctx context.Context, node string, bins []VerifiedBinary) {
	for _, b := range bins {
		o.logger.LogAttrs(ctx, slog.LevelInfo, "verified binary",
			slog.String("target", platforms.Format(b.Platform)), slog.String("path", b.Path),
			slog.String("found", b.Found), slog.Bool("static", b.Static),
			slog.String("interpreter", b.Interpreter), slog.String("glibc_needed", b.GlibcNeeded),
			slog.String("image_glibc", b.ImageGlibc), slog.Int("libraries", len(b.Libraries)),
			slog.String("node", node))
	}
}

func (o *buildOptions) logRetry(ctx context.Context, a Assignment, next string, err error) {
	o.logger.LogAttrs(ctx, slog.LevelWarn, "node failed, retrying",
		slog.String("target", platforms.Format(a.Target)), slog.String("node", a.Node),
		slog.String("next", next), slog.String("error", err.Error()))
}

func (o *buildOptions) logOutputs(ctx context.Context, res *Result) {
	for _, out := range o.outputs {
		attrs := []slog.Attr{slog.String("output", out.String()), slog.String("kind", string(out.Kind))}
		if out.Kind == KindRegistry {
			attrs = append(attrs, slog.String("name", out.Name))
		} else {
			attrs = append(attrs, slog.String("dest", out.Dest))
		}
		attrs = append(attrs, slog.String("index", res.Index.Digest.String()))
		o.logger.LogAttrs(ctx, slog.LevelInfo, "output written", attrs...)
	}
}
