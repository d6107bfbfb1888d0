package llb

// Options are checked when a graph builder applies them, and a bad one
// makes the graph fail at Marshal. These functions check them earlier,
// without a graph: a program can refuse bad input before it contacts a
// daemon.

// CheckGoOptions returns the first error of opts, as GoCompile would
// report it.
func CheckGoOptions(opts ...GoOption) error {
	_, err := newGoOptions(opts)
	return err
}

// CheckCargoOptions returns the first error of opts, as CargoCompile
// would report it.
func CheckCargoOptions(opts ...CargoOption) error {
	_, err := newCargoOptions(opts)
	return err
}

// CheckRuntimeOptions returns the first error of opts, as RuntimeStage
// would report it.
func CheckRuntimeOptions(opts ...RuntimeOption) error {
	_, err := newRuntimeOptions(opts)
	return err
}

// CheckBinaryName checks the name of a binary to build, as CargoCompile
// and CargoImage do: a plain file name.
func CheckBinaryName(name string) error { return checkBinName(name) }
