package solver

import (
	"context"
	"fmt"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
)

// progressView shows a build's progress, as Client.Build and Fleet.Build
// both do: BuildKit's display in o's mode, fed from a channel that it
// drains to the end (even when the build fails), and the steps' logs kept
// to explain a failure.
type progressView struct {
	o        *buildOptions
	steps    *stepLogs
	done     chan error
	warnings []client.VertexWarning
}

// showProgress starts showing in, until it is closed.
func (o *buildOptions) showProgress(ctx context.Context, in <-chan *client.SolveStatus) (*progressView, error) {
	display, err := progressui.NewDisplay(o.progressOut, o.progressMode)
	if err != nil {
		return nil, fmt.Errorf("progress: %w", err)
	}
	v := &progressView{o: o, steps: newStepLogs(), done: make(chan error, 1)}
	shown := v.steps.tee(in)
	go func() {
		var err error
		v.warnings, err = display.UpdateFrom(context.WithoutCancel(ctx), shown)
		// A display that failed stops reading: drain the rest, so that
		// the build never blocks on its progress.
		for range shown {
		}
		v.done <- err
	}()
	return v, nil
}

// wait waits for the display to end (its channel closed), prints the
// build's warnings after it, and returns buildErr explained by the failed
// step's log, else the display's own error.
func (v *progressView) wait(buildErr error) error {
	derr := <-v.done
	printWarnings(v.o, v.warnings)
	if buildErr != nil {
		return v.steps.explain(buildErr)
	}
	if derr != nil {
		return fmt.Errorf("progress: %w", derr)
	}
	return nil
}

// finish ends a successful build: it logs the outputs and writes the
// metadata file, when one was asked for.
func (o *buildOptions) finish(ctx context.Context, res *Result) (*Result, error) {
	o.logOutputs(ctx, res)
	if o.metadataFile != "" {
		if err := res.WriteMetadataFile(o.metadataFile); err != nil {
			return nil, err
		}
	}
	return res, nil
}
