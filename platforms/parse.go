package platforms

import (
	"fmt"
	"regexp"
	"strings"

	cplatforms "github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// componentRe is what one slash-separated component may hold, after
// lower-casing. Unlike containerd's specifiers, OS options such as
// "windows(10.0.17763)" are not accepted: a platform here is os, arch and
// variant only, so that Format(p) round-trips.
var componentRe = regexp.MustCompile(`^[a-z0-9_.-]+$`)

// Parse parses a platform specifier into a normalised, supported platform.
//
// The specifier is "os/arch[/variant]" or, with the OS left out,
// "arch[/variant]", which means linux: "arm64" is linux/arm64 whatever the
// host. Letters are lower-cased, the aliases containerd knows are resolved
// (aarch64, x86_64, x86-64, i386, armhf, armel, macos), and the variant is
// normalised: arm64/v8 is arm64, arm is arm/v7, amd64/v1 is amd64.
//
// The result must be a row of the table (see [Supported]); anything else is
// an error that names the input, lists the supported platforms and wraps
// [ErrUnsupported]. Malformed input (empty, more than three components,
// spaces or other characters outside [a-z0-9_.-], an OS without an
// architecture) is an error naming the input too, not wrapping
// ErrUnsupported.
func Parse(s string) (ocispec.Platform, error) {
	if s == "" {
		return ocispec.Platform{}, fmt.Errorf("%q: %w: empty, want os/arch[/variant] or arch[/variant]", s, errMalformed)
	}
	parts := strings.Split(strings.ToLower(s), "/")
	if len(parts) > 3 {
		return ocispec.Platform{}, fmt.Errorf("%q: %w: %d components, want os/arch[/variant] or arch[/variant]", s, errMalformed, len(parts))
	}
	for _, part := range parts {
		if part == "" {
			return ocispec.Platform{}, fmt.Errorf("%q: %w: empty component, want os/arch[/variant] or arch[/variant]", s, errMalformed)
		}
		if !componentRe.MatchString(part) {
			return ocispec.Platform{}, fmt.Errorf("%q: %w: component %q may only hold letters, digits, '_', '.' and '-'", s, errMalformed, part)
		}
	}

	var p ocispec.Platform
	switch len(parts) {
	case 1:
		if isOS(parts[0]) {
			return ocispec.Platform{}, fmt.Errorf("%q: %w: an operating system without an architecture, want os/arch[/variant] or arch[/variant]", s, errMalformed)
		}
		p = ocispec.Platform{OS: "linux", Architecture: parts[0]}
	case 2:
		// "arm64/v8" is arch/variant, "linux/arm64" is os/arch: the first
		// component decides, by being an architecture of the table or not.
		if isArch(parts[0]) {
			p = ocispec.Platform{OS: "linux", Architecture: parts[0], Variant: parts[1]}
		} else {
			p = ocispec.Platform{OS: parts[0], Architecture: parts[1]}
		}
	case 3:
		p = ocispec.Platform{OS: parts[0], Architecture: parts[1], Variant: parts[2]}
	}
	return normalize(s, p)
}

// MustParse is like [Parse] but panics on error. It is meant for tests and
// package-level variables holding constant specifiers.
func MustParse(s string) ocispec.Platform {
	p, err := Parse(s)
	if err != nil {
		panic("platforms: MustParse: " + err.Error())
	}
	return p
}

// ParseList parses a comma-separated list of platform specifiers, as given
// to --platform flags or a PLATFORMS variable, keeping their order. Spaces
// around items are trimmed. Each item is parsed by [Parse]; an empty list,
// an empty item ("linux/amd64,") and two spellings of one platform
// ("linux/arm,linux/arm/v7") are errors.
func ParseList(s string) ([]ocispec.Platform, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%q: empty platform list, want platforms separated by commas, such as linux/amd64,linux/arm64", s)
	}
	items := strings.Split(s, ",")
	ps := make([]ocispec.Platform, 0, len(items))
	seen := make(map[string]string, len(items)) // Format(p) -> first spelling
	for i, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("%q: item %d of the platform list is empty", s, i+1)
		}
		p, err := Parse(item)
		if err != nil {
			return nil, err
		}
		id := Format(p)
		if first, ok := seen[id]; ok {
			return nil, fmt.Errorf("%q: %q and %q are both %s: list each platform once", s, first, item, id)
		}
		seen[id] = item
		ps = append(ps, p)
	}
	return ps, nil
}

// Format returns the specifier of p, "os/arch[/variant]": "linux/amd64",
// "linux/amd64/v2", "linux/arm/v7". It is also the ID crossllb gives a
// platform's result in a multi-platform BuildKit build.
//
// A supported platform is normalised first, so one platform always has one
// ID: Format of {linux arm ""} is "linux/arm/v7". Other values are joined
// as they are, leaving out empty fields.
func Format(p ocispec.Platform) string {
	if n, err := Normalize(p); err == nil {
		p = n
	}
	return join(p.OS, p.Architecture, p.Variant)
}

// Equal reports whether a and b are the same platform: the same OS,
// architecture and variant once normalised ({linux arm ""} is linux/arm/v7,
// aarch64 is arm64, case does not count). OSVersion and OSFeatures are not
// compared. A platform crossllb does not support is compared after
// containerd's normalisation.
func Equal(a, b ocispec.Platform) bool {
	return equalKey(a) == equalKey(b)
}

func equalKey(p ocispec.Platform) string {
	if n, err := Normalize(p); err == nil {
		return join(n.OS, n.Architecture, n.Variant)
	}
	n := cplatforms.Normalize(ocispec.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant})
	return join(n.OS, n.Architecture, n.Variant)
}

// Normalize validates p and returns its normalised form, by the rules of
// [Parse]: letters are lower-cased, aliases resolved, an empty OS means
// linux, and the result must be a supported platform. Unsupported
// platforms are errors wrapping [ErrUnsupported].
//
// The table is keyed by OS, architecture and variant only: OSVersion and
// OSFeatures are dropped, so that Normalize(p) equals
// Parse(Format(p)).
func Normalize(p ocispec.Platform) (ocispec.Platform, error) {
	name := join(p.OS, p.Architecture, p.Variant)
	if p.Architecture == "" {
		return ocispec.Platform{}, fmt.Errorf("%q: %w: no architecture", name, errMalformed)
	}
	q := ocispec.Platform{
		OS:           strings.ToLower(p.OS),
		Architecture: strings.ToLower(p.Architecture),
		Variant:      strings.ToLower(p.Variant),
	}
	if q.OS == "" {
		q.OS = "linux"
	}
	return normalize(name, q)
}

// normalize resolves aliases in p (os, arch and variant set, lower-case,
// os not empty) with containerd's Normalize, then checks the result
// against the table. input names p in errors.
func normalize(input string, p ocispec.Platform) (ocispec.Platform, error) {
	// containerd maps arm64 v8 to "", arm "" to v7 and amd64 v1 to "",
	// which are our canonical forms too. Its Normalize is used rather than
	// its Parse, which adds v8 to arm64 and drops v7 from arm.
	n := cplatforms.Normalize(ocispec.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant})
	n = ocispec.Platform{OS: n.OS, Architecture: n.Architecture, Variant: n.Variant}

	// Aliases that imply a variant (armhf, armel, i386) make containerd
	// drop the variant given: "armhf/v6" would silently become arm/v7.
	// Normalising the given variant against the resolved architecture
	// tells a restatement ("armhf/v7") from a contradiction.
	if p.Variant != "" {
		again := cplatforms.Normalize(ocispec.Platform{OS: n.OS, Architecture: n.Architecture, Variant: p.Variant})
		if again.Variant != n.Variant {
			return ocispec.Platform{}, fmt.Errorf("%q: %w: variant %q contradicts %q, which is %s (supported: %s)",
				input, ErrUnsupported, p.Variant, p.Architecture, join(n.OS, n.Architecture, n.Variant), supportedList())
		}
	}

	if _, ok := lookup(n); ok {
		return n, nil
	}
	var what string
	switch {
	case !hasRow(func(t Toolchain) bool { return t.Platform.OS == n.OS }):
		what = fmt.Sprintf("operating system %q", n.OS)
	case !hasRow(func(t Toolchain) bool { return t.Platform.Architecture == n.Architecture }):
		what = fmt.Sprintf("architecture %q", n.Architecture)
	case !hasRow(func(t Toolchain) bool { return t.Platform.OS == n.OS && t.Platform.Architecture == n.Architecture }):
		what = fmt.Sprintf("architecture %q on %s", n.Architecture, n.OS)
	default:
		what = fmt.Sprintf("variant %q of %s", n.Variant, join(n.OS, n.Architecture))
	}
	return ocispec.Platform{}, fmt.Errorf("%q: %w: %s (supported: %s)", input, ErrUnsupported, what, supportedList())
}

// isOS reports whether s names an OS of the table, alias included.
func isOS(s string) bool {
	os := cplatforms.Normalize(ocispec.Platform{OS: s}).OS
	return hasRow(func(t Toolchain) bool { return t.Platform.OS == os })
}

// isArch reports whether s names an architecture of the table, alias
// included.
func isArch(s string) bool {
	arch := cplatforms.Normalize(ocispec.Platform{OS: "linux", Architecture: s}).Architecture
	return hasRow(func(t Toolchain) bool { return t.Platform.Architecture == arch })
}

func hasRow(match func(Toolchain) bool) bool {
	for _, t := range toolchains {
		if match(t) {
			return true
		}
	}
	return false
}

// supportedList returns the supported platforms for error messages.
func supportedList() string {
	ids := make([]string, len(toolchains))
	for i, t := range toolchains {
		ids[i] = join(t.Platform.OS, t.Platform.Architecture, t.Platform.Variant)
	}
	return strings.Join(ids, ", ")
}

// join joins the non-empty parts with slashes.
func join(parts ...string) string {
	var b strings.Builder
	for _, part := range parts {
		if part == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		b.WriteString(part)
	}
	return b.String()
}
