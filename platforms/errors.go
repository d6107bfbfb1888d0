package platforms

import "errors"

// ErrUnsupported is wrapped by every error about a platform that is well
// formed but not a row of the table: an unknown operating system,
// architecture or variant from [Parse], [ParseList], [Normalize] or
// [ToolchainFor], and [Toolchain.CheckELF] on a platform whose binaries are
// not ELF. Branch on it with errors.Is.
var ErrUnsupported = errors.New("unsupported platform")

// errMalformed is wrapped by errors about input that is not a platform
// specifier at all (empty, too many slashes, spaces). It is not exported:
// callers fix their input rather than branch on it.
var errMalformed = errors.New("malformed platform")
