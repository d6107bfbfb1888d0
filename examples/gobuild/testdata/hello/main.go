// Command hello prints the platform it was compiled for, so that a test can
// tell a correctly cross-compiled image from a wrong one.
package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

func main() {
	line := fmt.Sprintf("hello from %s/%s", runtime.GOOS, runtime.GOARCH)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "GOARM" || s.Key == "GOAMD64" {
				line += " " + s.Key + "=" + s.Value
			}
		}
	}
	fmt.Println(line)
}
