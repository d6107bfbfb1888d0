package integration

import (
	"archive/tar"
	"errors"
	"io"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// TestSeededDebianIsLikeTheOfficialSlim: the debian:bookworm-slim that
// hack/setup seeds stands in for the official image in every build here
// and in the bench, so it must behave like it: dpkg without fsync, apt's
// container settings, no documentation, translations or apt caches, and
// /usr merged without the usrmerge package (which brings perl). The
// official image is 75 MB on amd64, 97 MB on arm64 and 56 MB on arm/v7;
// a minbase root filesystem without these is 144 to 195 MB.
func TestSeededDebianIsLikeTheOfficialSlim(t *testing.T) {
	ctx := testContext(t, 5*time.Minute)
	idx := pullIndex(t, ctx, registryAddr(t)+"/library/debian:bookworm-slim")
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	const maxSize = 110 << 20
	checked := 0
	for _, desc := range im.Manifests {
		if desc.Platform == nil || desc.Platform.OS == "unknown" {
			continue
		}
		plat := desc.Platform.String()
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		rc := mutate.Extract(img)
		files := map[string]string{} // the few files read, by path
		var size int64
		var dropped []string
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rc.Close()
				t.Fatalf("%s: reading the image's files: %v", plat, err)
			}
			p := "/" + strings.TrimPrefix(path.Clean(h.Name), "./")
			size += h.Size
			if h.Typeflag == tar.TypeReg && slimDrops(p) {
				dropped = append(dropped, p)
			}
			switch p {
			case "/etc/dpkg/dpkg.cfg.d/docker-apt-speedup", "/etc/dpkg/dpkg.cfg.d/docker",
				"/etc/apt/apt.conf.d/docker-clean", "/var/lib/dpkg/status", "/usr/sbin/policy-rc.d":
				b, err := io.ReadAll(tr)
				if err != nil {
					rc.Close()
					t.Fatal(err)
				}
				files[p] = string(b)
			}
		}
		rc.Close()
		checked++
		if size > maxSize {
			t.Errorf("%s: the seeded image holds %d MB of files, the official one under 100 MB", plat, size>>20)
		}
		if len(dropped) > 0 {
			t.Errorf("%s: %d files the slim image drops, such as %s", plat, len(dropped), dropped[0])
		}
		for p, want := range map[string]string{
			"/etc/dpkg/dpkg.cfg.d/docker-apt-speedup": "force-unsafe-io",
			"/etc/dpkg/dpkg.cfg.d/docker":             "path-exclude /usr/share/doc/*",
			"/etc/apt/apt.conf.d/docker-clean":        `Dir::Cache::pkgcache "";`,
			"/usr/sbin/policy-rc.d":                   "exit 101",
		} {
			if !strings.Contains(files[p], want) {
				t.Errorf("%s: %s does not say %q", plat, p, want)
			}
		}
		status := files["/var/lib/dpkg/status"]
		for _, pkg := range []string{"usrmerge", "perl", "libperl5.36"} {
			if strings.Contains(status, "\nPackage: "+pkg+"\n") || strings.HasPrefix(status, "Package: "+pkg+"\n") {
				t.Errorf("%s: package %s is installed; the official image has none", plat, pkg)
			}
		}
	}
	if checked != 3 {
		t.Errorf("the seeded index has %d platform images, want 3 (amd64, arm64, arm/v7)", checked)
	}
}

// slimDrops reports whether the official slim images leave p out:
// documentation, manual pages and translations, and apt's binary caches,
// but not the copyright files and locale lists they keep.
func slimDrops(p string) bool {
	if strings.HasPrefix(p, "/var/cache/apt/") && strings.HasSuffix(p, ".bin") {
		return true
	}
	switch {
	case strings.HasPrefix(p, "/usr/share/doc/"):
		return path.Base(p) != "copyright"
	case strings.HasPrefix(p, "/usr/share/locale/"):
		rest := strings.TrimPrefix(p, "/usr/share/locale/")
		switch {
		case rest == "all_languages", rest == "languages", rest == "locale.alias",
			strings.HasPrefix(rest, "currency/"), strings.HasPrefix(rest, "l10n/"):
			return false
		}
		return true
	}
	for _, d := range []string{"/usr/share/man/", "/usr/share/info/", "/usr/share/groff/", "/usr/share/linda/", "/usr/share/lintian/overrides/"} {
		if strings.HasPrefix(p, d) {
			return true
		}
	}
	return false
}
