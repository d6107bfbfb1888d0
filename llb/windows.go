package llb

import (
	"fmt"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// A Windows container image is not a Linux image with a PE binary in it:
// its layers keep their files under Files/ (and registry hives under
// Hives/), and it runs only on top of a Windows base layer (nanoserver,
// servercore). BuildKit on a Linux worker writes that layout by itself,
// but only for layers made on top of a base image pulled for windows: it
// marks such layers and diffs them in Windows mode. On scratch it has no
// such mark and writes a Linux layout (/usr/local/bin/app at the layer
// root) that no Windows host can run. So a windows target needs a Windows
// runtime base, and its executable a ".exe" name.

// checkWindowsBase refuses a windows image that would get a Linux layout.
func checkWindowsBase(base Base) error {
	if base.Platform.OS != "windows" || !base.IsScratch() {
		return nil
	}
	return fmt.Errorf("%s: a Windows image needs a Windows runtime base image: on scratch BuildKit writes a Linux layout "+
		"(no Files/ directory, no Windows base layer) that no Windows host can run; "+
		"use a Windows base image as the runtime image (e.g. nanoserver, mirrored to your registry), or leave windows out of the platforms",
		formatPlatform(base.Platform))
}

// GoBinaryPath returns where [GoImage] puts a binary named name in p's
// image: GoBinaryDir/name, with ".exe" appended on windows unless name
// has it (Windows runs only files with an executable extension).
func GoBinaryPath(p ocispec.Platform, name string) string {
	if p.OS == "windows" && !strings.HasSuffix(strings.ToLower(name), ".exe") {
		name += ".exe"
	}
	return GoBinaryDir + "/" + name
}

// entrypointPath is the entrypoint for an executable at the image path
// dest: dest itself, or on windows the path of C: that the image's Files/
// directory becomes ("C:\usr\local\bin\app.exe").
func entrypointPath(p ocispec.Platform, dest string) string {
	if p.OS != "windows" {
		return dest
	}
	return `C:` + strings.ReplaceAll(dest, "/", `\`)
}

// GoEntrypoint is the entrypoint [GoImage] gives an image whose binary is
// named name, for p: [GoBinaryPath], as a path of C: on windows.
func GoEntrypoint(p ocispec.Platform, name string) []string {
	return []string{entrypointPath(p, GoBinaryPath(p, name))}
}
