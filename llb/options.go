package llb

import (
	"fmt"
	"strings"
)

// applyOptions applies opts to o in order, skipping nil ones (a caller
// may build its list conditionally), and stops at the first error: the one
// loop behind newGoOptions, newCargoOptions, newCOptions and
// newRuntimeOptions.
func applyOptions[T any, O ~func(*T) error](o *T, opts []O) error {
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(o); err != nil {
			return err
		}
	}
	return nil
}

// checkEnv checks the list kv given to an env option (WithGoEnv,
// WithCargoEnv, WithCEnv: option) of a preset (GoCompile...: preset):
// each is KEY=VALUE with a shell-style KEY, and no KEY is one the preset
// sets itself (reserved says why, or "").
func checkEnv(option, preset string, kv []string, reserved func(string) string) error {
	for _, e := range kv {
		k, _, ok := strings.Cut(e, "=")
		if !ok || !validEnvKey(k) {
			return fmt.Errorf("%s(%q): want KEY=VALUE", option, e)
		}
		if why := reserved(k); why != "" {
			return fmt.Errorf("%s(%q): %s is set by %s: %s", option, e, k, preset, why)
		}
	}
	return nil
}
