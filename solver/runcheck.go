package solver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"

	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	fstypes "github.com/tonistiigi/fsutil/types"

	"github.com/crossllb/crossllb/platforms"
)

// A binary of the right architecture can still fail to start in its
// image: its ELF interpreter is not there ("exec /app: no such file or
// directory" on scratch), a library it needs is not there, or the image's
// glibc is older than the one it was linked against ("version
// `GLIBC_2.38' not found"). runChecks finds these from the solved image
// itself, by reading ELF headers in ranges: no container is run, nothing
// is emulated.

// imageFS reads a solved target's root filesystem. Paths are absolute in
// the image, and symlinks are followed inside the image, never on the host.
type imageFS interface {
	// stat describes the file at p, symlinks followed.
	stat(ctx context.Context, p string) (*fstypes.Stat, error)
	// readAt reads the file at p, size bytes long, in ranges.
	readAt(ctx context.Context, p string, size int64) io.ReaderAt
	// readFile returns a small file whole.
	readFile(ctx context.Context, p string) ([]byte, error)
	// glob lists the names in dir that match the path.Match pattern.
	glob(ctx context.Context, dir, pattern string) ([]string, error)
}

// refFS is the imageFS of a solved gateway reference. BuildKit resolves
// a path's symlinks inside the reference's root (continuity's RootPath).
// It keeps one reader and one stat per file, so that a library found and
// read for its dependencies is not asked for again for its symbol versions.
type refFS struct {
	ref gwclient.Reference

	mu      sync.Mutex
	readers map[fileKey]io.ReaderAt
	stats   map[string]statResult
}

type fileKey struct {
	path string
	size int64
}

type statResult struct {
	st  *fstypes.Stat
	err error
}

func newRefFS(ref gwclient.Reference) *refFS {
	return &refFS{ref: ref, readers: map[fileKey]io.ReaderAt{}, stats: map[string]statResult{}}
}

// stat asks buildkitd once per path: the run check stats a library when
// it looks for it and again when it reads its glibc versions.
func (r *refFS) stat(ctx context.Context, p string) (*fstypes.Stat, error) {
	r.mu.Lock()
	res, ok := r.stats[p]
	r.mu.Unlock()
	if ok {
		return res.st, res.err
	}
	st, err := r.ref.StatFile(ctx, gwclient.StatRequest{Path: p})
	if ctx.Err() == nil {
		r.mu.Lock()
		r.stats[p] = statResult{st, err}
		r.mu.Unlock()
	}
	return st, err
}

func (r *refFS) readAt(ctx context.Context, p string, size int64) io.ReaderAt {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := fileKey{p, size}
	if rd, ok := r.readers[key]; ok {
		return rd
	}
	rd := rangeReader(ctx, r.ref, p, size)
	r.readers[key] = rd
	return rd
}

func (r *refFS) readFile(ctx context.Context, p string) ([]byte, error) {
	return r.ref.ReadFile(ctx, gwclient.ReadRequest{Filename: p, Range: &gwclient.FileRange{Length: maxConfigFile}})
}

func (r *refFS) glob(ctx context.Context, dir, pattern string) ([]string, error) {
	sts, err := r.ref.ReadDir(ctx, gwclient.ReadDirRequest{Path: dir, IncludePattern: pattern})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, st := range sts {
		if ok, _ := path.Match(pattern, st.Path); ok {
			names = append(names, st.Path)
		}
	}
	return names, nil
}

// maxConfigFile bounds what is read of /etc/ld.so.conf and the files it
// includes.
const maxConfigFile = 64 << 10

// maxLibraries bounds the libraries followed from one binary, its own
// and theirs.
const maxLibraries = 256

// defaultLibDirs are searched after /etc/ld.so.conf's directories, as
// glibc's loader does with its trusted directories.
var defaultLibDirs = []string{"/lib", "/usr/lib", "/lib64", "/usr/lib64"}

// runCheck is what one binary needs from its image and what the image has.
type runCheck struct {
	Interpreter string
	// Libraries maps each library needed, directly or through another
	// library, to the path the image's loader would find it at.
	Libraries   map[string]string
	GlibcNeeded string
	ImageGlibc  string
	Static      bool
}

// checkRuns checks that the ELF binary at bin, for tc, can start in the
// image: its interpreter exists, every library it needs (and theirs)
// resolves through the image's loader paths to a library of the same
// machine, and the image's libc.so.6 defines every GLIBC_ version the
// binary needs. With static, the binary must need nothing.
func checkRuns(ctx context.Context, img imageFS, tc platforms.Toolchain, bin string, r io.ReaderAt, static bool) (runCheck, error) {
	id := platforms.Format(tc.Platform)
	deps, err := platforms.ReadELFDeps(r)
	if err != nil {
		return runCheck{}, fmt.Errorf("%s: %s: %w", id, bin, err)
	}
	rc := runCheck{Interpreter: deps.Interpreter, Static: deps.Static()}
	if g, ok := deps.GlibcNeeded(); ok {
		rc.GlibcNeeded = g.String()
	}
	if deps.Interpreter != "" {
		if _, err := regularFile(ctx, img, deps.Interpreter); err != nil {
			return rc, fmt.Errorf("%s: %s is dynamically linked (interpreter %s), but the image has no %s (%v): "+
				"build it static (Go: CGO_ENABLED=0; Rust: -C target-feature=+crt-static; C: -static) or use a runtime image with its C library (e.g. debian:bookworm-slim)",
				id, bin, deps.Interpreter, deps.Interpreter, err)
		}
	}
	if static && !rc.Static {
		return rc, fmt.Errorf("%s: %s must be static but is dynamically linked (%s): "+
			"build it static (Go: CGO_ENABLED=0; Rust: -C target-feature=+crt-static; C: -static), or do not ask for a static binary",
			id, bin, describeDynamic(deps))
	}
	if len(deps.Needed) == 0 {
		return rc, nil
	}

	dirs, err := loaderDirs(ctx, img, tc)
	if err != nil {
		return rc, fmt.Errorf("%s: %w", id, err)
	}
	rc.Libraries = map[string]string{}
	// Each library is looked for first in the run path of the object that
	// needs it (DT_RUNPATH or DT_RPATH, $ORIGIN its own directory).
	type need struct {
		lib, by string
		runPath []string
	}
	queue := make([]need, 0, len(deps.Needed))
	for _, n := range deps.Needed {
		queue = append(queue, need{n, bin, runPathDirs(deps.RunPath, bin)})
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if _, done := rc.Libraries[n.lib]; done {
			continue
		}
		if len(rc.Libraries) >= maxLibraries {
			return rc, fmt.Errorf("%s: %s: more than %d libraries needed: not followed further", id, bin, maxLibraries)
		}
		search := append(slices.Clip(n.runPath), dirs...)
		found, libDeps, err := findLibrary(ctx, img, tc, n.lib, search)
		if err != nil {
			return rc, fmt.Errorf("%s: %s: %w", id, n.lib, err)
		}
		if found == "" {
			via := ""
			if n.by != bin {
				via = " (through " + n.by + ")"
			}
			return rc, fmt.Errorf("%s: %s needs %s%s, which the image lacks (searched %s): "+
				"install the package that ships it in the runtime stage (llb.WithAptInstall, --apt-packages: on Debian %s), or link it statically",
				id, bin, n.lib, via, strings.Join(search, " "), debianPackageHint(n.lib))
		}
		rc.Libraries[n.lib] = found
		for _, d := range libDeps.Needed {
			queue = append(queue, need{d, found, runPathDirs(libDeps.RunPath, found)})
		}
	}

	if rc.GlibcNeeded == "" {
		return rc, nil
	}
	libc, ok := rc.Libraries["libc.so.6"]
	if !ok {
		return rc, nil
	}
	st, err := regularFile(ctx, img, libc)
	if err != nil {
		return rc, fmt.Errorf("%s: %s: %w", id, libc, err)
	}
	have, err := platforms.ReadGlibcVersions(img.readAt(ctx, libc, int64(st.Size)))
	if err != nil {
		return rc, fmt.Errorf("%s: reading the image's glibc versions from %s: %w", id, libc, err)
	}
	imageGlibc := platforms.MaxGlibcVersion(have)
	rc.ImageGlibc = imageGlibc.String()
	var missing []string
	for _, v := range glibcNeeds(deps) {
		if !slices.Contains(have, v) {
			missing = append(missing, "GLIBC_"+v.String())
		}
	}
	if len(missing) > 0 {
		return rc, fmt.Errorf("%s: %s needs %s, but the image has glibc %s (%s defines no such version): "+
			"build with a builder image whose glibc is no newer than the runtime image's, or use a newer runtime image",
			id, bin, strings.Join(missing, ", "), rc.ImageGlibc, libc)
	}
	return rc, nil
}

// glibcNeeds lists the GLIBC_ versions deps needs from any library.
func glibcNeeds(deps platforms.ELFDeps) []platforms.GlibcVersion {
	var out []platforms.GlibcVersion
	for _, names := range deps.VersionNeeds {
		for _, n := range names {
			if v, err := platforms.ParseGlibcVersion(n); err == nil && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	slices.SortFunc(out, platforms.GlibcVersion.Compare)
	return out
}

// describeDynamic says why a binary is not static.
func describeDynamic(d platforms.ELFDeps) string {
	var parts []string
	if d.Interpreter != "" {
		parts = append(parts, "interpreter "+d.Interpreter)
	}
	if len(d.Needed) > 0 {
		parts = append(parts, "needs "+strings.Join(d.Needed, ", "))
	}
	return strings.Join(parts, "; ")
}

// regularFile stats p in the image and refuses anything but a regular file.
func regularFile(ctx context.Context, img imageFS, p string) (*fstypes.Stat, error) {
	st, err := img.stat(ctx, p)
	if err != nil {
		return nil, err
	}
	if !fs.FileMode(st.Mode).IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (mode %s)", p, fs.FileMode(st.Mode))
	}
	return st, nil
}

// findLibrary looks for the library file lib in dirs, in order, as the
// loader does: the first regular file of the target's ELF machine and
// class wins (the loader skips a library of another architecture). It
// returns its path and what it needs itself, or "" if none is found.
func findLibrary(ctx context.Context, img imageFS, tc platforms.Toolchain, lib string, dirs []string) (string, platforms.ELFDeps, error) {
	if strings.Contains(lib, "/") {
		dirs = []string{""} // a DT_NEEDED with a slash is a path
		if !path.IsAbs(lib) {
			return "", platforms.ELFDeps{}, nil
		}
	}
	for _, dir := range dirs {
		p := lib
		if dir != "" {
			p = path.Join(dir, lib)
		}
		st, err := regularFile(ctx, img, p)
		if err != nil {
			continue
		}
		r := img.readAt(ctx, p, int64(st.Size))
		if _, err := tc.CheckELF(r); err != nil {
			continue
		}
		deps, err := platforms.ReadELFDeps(r)
		if err != nil {
			return "", deps, fmt.Errorf("reading %s: %w", p, err)
		}
		return p, deps, nil
	}
	return "", platforms.ELFDeps{}, nil
}

// runPathDirs expands a run path for the object at obj: $ORIGIN (or
// ${ORIGIN}) is obj's directory; relative entries, which the loader
// resolves against the process's working directory, are left out.
func runPathDirs(runPath []string, obj string) []string {
	var dirs []string
	for _, d := range runPath {
		d = strings.ReplaceAll(strings.ReplaceAll(d, "${ORIGIN}", path.Dir(obj)), "$ORIGIN", path.Dir(obj))
		if path.IsAbs(d) {
			dirs = append(dirs, path.Clean(d))
		}
	}
	return dirs
}

// loaderDirs lists where the image's loader looks for libraries: the
// directories of /etc/ld.so.conf and the files it includes, the target's
// Debian multiarch directories, then the default ones.
func loaderDirs(ctx context.Context, img imageFS, tc platforms.Toolchain) ([]string, error) {
	var dirs []string
	add := func(d string) {
		d = path.Clean(d)
		if path.IsAbs(d) && !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	seen := map[string]bool{}
	var readConf func(p string, depth int) error
	readConf = func(p string, depth int) error {
		if seen[p] || depth > 8 {
			return nil
		}
		seen[p] = true
		dt, err := img.readFile(ctx, p)
		if err != nil {
			if isNotExist(err) {
				return nil
			}
			return fmt.Errorf("reading %s: %w", p, err)
		}
		for line := range strings.Lines(string(dt)) {
			line, _, _ = strings.Cut(line, "#")
			fields := strings.Fields(line)
			switch {
			case len(fields) == 0:
			case fields[0] == "include":
				for _, pattern := range fields[1:] {
					if !path.IsAbs(pattern) {
						pattern = path.Join(path.Dir(p), pattern)
					}
					names, err := img.glob(ctx, path.Dir(pattern), path.Base(pattern))
					if err != nil && !isNotExist(err) {
						return fmt.Errorf("reading %s: %w", path.Dir(pattern), err)
					}
					slices.Sort(names)
					for _, n := range names {
						if err := readConf(path.Join(path.Dir(pattern), n), depth+1); err != nil {
							return err
						}
					}
				}
			case fields[0] == "hwcap":
			default:
				for _, f := range fields {
					for d := range strings.SplitSeq(f, ",") {
						add(strings.TrimSpace(d))
					}
				}
			}
		}
		return nil
	}
	if err := readConf("/etc/ld.so.conf", 0); err != nil {
		return nil, err
	}
	if tc.MultiarchTuple != "" {
		add("/lib/" + tc.MultiarchTuple)
		add("/usr/lib/" + tc.MultiarchTuple)
	}
	for _, d := range defaultLibDirs {
		add(d)
	}
	return dirs, nil
}

// isNotExist reports whether err says a file is missing, locally or as
// BuildKit's gateway reports it. The gateway keeps nothing typed for that:
// on buildkitd v0.33.1, ReadFile, StatFile and ReadDir of a missing path
// return a gRPC status with code Unknown whose chain holds neither
// fs.ErrNotExist nor syscall.ENOENT, only the message ("open /x: no such
// file or directory"). So the message is matched.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || strings.Contains(err.Error(), "no such file or directory")
}

// debianPackageHint names the Debian package that usually ships a
// library, by Debian's policy (libfoo.so.3 is in libfoo3; a name ending in
// a digit gets a dash: libfoo2.so.1 is in libfoo2-1; libssl.so.1.1 is in
// libssl1.1), with the common exceptions.
func debianPackageHint(lib string) string {
	switch lib {
	case "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libresolv.so.2":
		return "libc6"
	case "libz.so.1":
		return "zlib1g"
	case "libgcc_s.so.1":
		return "libgcc-s1"
	case "libstdc++.so.6":
		return "libstdc++6"
	}
	base, ver, ok := strings.Cut(lib, ".so.")
	if !ok || base == "" {
		return "the package that ships " + lib
	}
	name := strings.ReplaceAll(strings.ToLower(base), "_", "-")
	if name == "libcrypto" { // OpenSSL ships both libraries in one package
		name = "libssl"
	}
	if last := name[len(name)-1]; last >= '0' && last <= '9' {
		name += "-"
	}
	return "usually " + name + ver
}
