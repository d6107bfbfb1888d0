package solver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sys/unix"
)

// DockerignoreFile is the file at a context's root whose patterns
// WithLocal leaves out, with Docker's semantics.
const DockerignoreFile = ".dockerignore"

// LocalOption configures WithLocal.
type LocalOption func(*localOptions) error

type localOptions struct {
	excludes       []string
	noDockerignore bool
}

// LocalExclude leaves out of the context the paths that match patterns,
// in .dockerignore syntax ("**/.git", "target", "!target/keep"), after the
// context's own .dockerignore.
func LocalExclude(patterns ...string) LocalOption {
	return func(o *localOptions) error {
		for _, p := range patterns {
			if strings.TrimSpace(p) == "" {
				return errors.New("exclude pattern: empty")
			}
		}
		o.excludes = append(o.excludes, patterns...)
		return nil
	}
}

// LocalWithoutDockerignore sends the context without reading its
// .dockerignore.
func LocalWithoutDockerignore() LocalOption {
	return func(o *localOptions) error { o.noDockerignore = true; return nil }
}

// excludePatterns are the context's .dockerignore patterns (unless
// turned off), then the caller's, each checked.
func (o *localOptions) excludePatterns(name, dir string) ([]string, error) {
	var patterns []string
	if !o.noDockerignore {
		f, err := os.Open(filepath.Join(dir, DockerignoreFile))
		switch {
		case err == nil:
			patterns, err = ignorefile.ReadAll(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("local %q: %s: %w", name, filepath.Join(dir, DockerignoreFile), err)
			}
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("local %q: %w", name, err)
		}
	}
	patterns = append(patterns, o.excludes...)
	for _, p := range patterns {
		if _, err := patternmatcher.New([]string{p}); err != nil {
			return nil, fmt.Errorf("local %q: exclude pattern %q: %w", name, p, err)
		}
	}
	return patterns, nil
}

// maxUnreadable is how many unreadable paths an error lists.
const maxUnreadable = 10

// checkReadable walks the (filtered) context and refuses files and
// directories this process cannot read: BuildKit's context transfer would
// send such a file EMPTY (a Go file then fails as "expected 'package',
// found 'EOF'"; a data file is silently empty in the image). Root reads
// everything, so the check is for other users: access(2) per path (it
// knows ACLs too), about 3.5 µs a file on top of the walk.
func checkReadable(ctx context.Context, name, abs string, fsys fsutil.FS) error {
	if os.Geteuid() == 0 {
		return nil
	}
	var bad []string
	n := 0
	err := fsys.Walk(ctx, "", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrPermission) {
				n++
				if len(bad) < maxUnreadable {
					bad = append(bad, p+" (directory)")
				}
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() && !d.IsDir() {
			return nil
		}
		mode := uint32(unix.R_OK)
		if d.IsDir() {
			mode |= unix.X_OK
		}
		if unix.Access(filepath.Join(abs, p), mode) != nil {
			n++
			if d.IsDir() {
				p += " (directory)"
			}
			if len(bad) < maxUnreadable {
				bad = append(bad, p)
			}
			if d.IsDir() {
				return filepath.SkipDir // its contents cannot be listed
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("local %q: reading %s: %w", name, abs, err)
	}
	if n > 0 {
		more := ""
		if n > len(bad) {
			more = fmt.Sprintf(" and %d more", n-len(bad))
		}
		return fmt.Errorf("local %q: %d path(s) in %s cannot be read by this user and would arrive EMPTY in the build: %s%s; make them readable (chmod a+r), or leave them out (%s, or an exclude pattern)",
			name, n, abs, strings.Join(bad, ", "), more, DockerignoreFile)
	}
	return nil
}

func localFS(name, dir string, lo *localOptions) (fsutil.FS, error) {
	if name == "" {
		return nil, errors.New("local: empty name")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local %q: %w", name, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("local %q: context directory %s: %w", name, dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("local %q: context %s is a file, not a directory", name, dir)
	}
	if abs == "/" {
		return nil, fmt.Errorf("local %q: refusing / as a build context: point it at your project's directory", name)
	}
	if home, err := os.UserHomeDir(); err == nil && filepath.Clean(home) == abs {
		return nil, fmt.Errorf("local %q: refusing the home directory %s as a build context: point it at your project's directory", name, abs)
	}
	fs, err := fsutil.NewFS(abs)
	if err != nil {
		return nil, fmt.Errorf("local %q: %w", name, err)
	}
	excludes, err := lo.excludePatterns(name, abs)
	if err != nil {
		return nil, err
	}
	if len(excludes) > 0 {
		if fs, err = fsutil.NewFilterFS(fs, &fsutil.FilterOpt{ExcludePatterns: excludes}); err != nil {
			return nil, fmt.Errorf("local %q: %w", name, err)
		}
	}
	if err := checkReadable(context.Background(), name, abs, fs); err != nil {
		return nil, err
	}
	return fs, nil
}
