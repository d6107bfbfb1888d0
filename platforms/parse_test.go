package platforms_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/crossllb/crossllb/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// supportedText is the list every unsupported-platform error ends with.
const supportedText = "linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/amd64/v4, " +
	"linux/arm64, linux/arm/v7, linux/arm/v6, linux/arm/v5, linux/386, " +
	"linux/ppc64le, linux/s390x, linux/riscv64, linux/mips64le, windows/amd64, darwin/arm64"

var goodSpecs = []struct {
	in   string
	want ocispec.Platform
}{
	// As written.
	{"linux/amd64", ocispec.Platform{OS: "linux", Architecture: "amd64"}},
	{"linux/amd64/v2", ocispec.Platform{OS: "linux", Architecture: "amd64", Variant: "v2"}},
	{"linux/amd64/v3", ocispec.Platform{OS: "linux", Architecture: "amd64", Variant: "v3"}},
	{"linux/amd64/v4", ocispec.Platform{OS: "linux", Architecture: "amd64", Variant: "v4"}},
	{"linux/arm64", ocispec.Platform{OS: "linux", Architecture: "arm64"}},
	{"linux/arm/v7", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
	{"linux/arm/v6", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}},
	{"linux/arm/v5", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v5"}},
	{"linux/386", ocispec.Platform{OS: "linux", Architecture: "386"}},
	{"linux/ppc64le", ocispec.Platform{OS: "linux", Architecture: "ppc64le"}},
	{"linux/s390x", ocispec.Platform{OS: "linux", Architecture: "s390x"}},
	{"linux/riscv64", ocispec.Platform{OS: "linux", Architecture: "riscv64"}},
	{"linux/mips64le", ocispec.Platform{OS: "linux", Architecture: "mips64le"}},
	{"windows/amd64", ocispec.Platform{OS: "windows", Architecture: "amd64"}},
	{"darwin/arm64", ocispec.Platform{OS: "darwin", Architecture: "arm64"}},

	// Normalisations: arm64/v8 is arm64, arm is arm/v7, amd64/v1 is amd64.
	{"linux/arm64/v8", ocispec.Platform{OS: "linux", Architecture: "arm64"}},
	{"arm64/v8", ocispec.Platform{OS: "linux", Architecture: "arm64"}},
	{"linux/arm64/8", ocispec.Platform{OS: "linux", Architecture: "arm64"}},
	{"linux/arm", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
	{"arm", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
	{"linux/arm/7", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
	{"linux/amd64/v1", ocispec.Platform{OS: "linux", Architecture: "amd64"}},
	{"amd64/v1", ocispec.Platform{OS: "linux", Architecture: "amd64"}},

	// OS-less means linux, whatever the host.
	{"amd64", ocispec.Platform{OS: "linux", Architecture: "amd64"}},
	{"arm64", ocispec.Platform{OS: "linux", Architecture: "arm64"}},
	{"arm/v6", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}},
	{"amd64/v3", ocispec.Platform{OS: "linux", Architecture: "amd64", Variant: "v3"}},
	{"s390x", ocispec.Platform{OS: "linux", Architecture: "s390x"}},

	// Aliases, resolved by containerd's Normalize.
	{"aarch64", ocispec.Platform{OS: "linux", Architecture: "arm64"}},
	{"linux/aarch64", ocispec.Platform{OS: "linux", Architecture: "arm64"}},
	{"x86_64", ocispec.Platform{OS: "linux", Architecture: "amd64"}},
	{"linux/x86-64", ocispec.Platform{OS: "linux", Architecture: "amd64"}},
	{"x86_64/v2", ocispec.Platform{OS: "linux", Architecture: "amd64", Variant: "v2"}},
	{"i386", ocispec.Platform{OS: "linux", Architecture: "386"}},
	{"armhf", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
	{"linux/armhf/v7", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
	{"armel", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}},
	{"macos/arm64", ocispec.Platform{OS: "darwin", Architecture: "arm64"}},
	{"darwin/aarch64", ocispec.Platform{OS: "darwin", Architecture: "arm64"}},
	{"windows/x86_64", ocispec.Platform{OS: "windows", Architecture: "amd64"}},

	// Lower-cased.
	{"LINUX/AMD64", ocispec.Platform{OS: "linux", Architecture: "amd64"}},
	{"Linux/ARM/V7", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
	{"Windows/AMD64", ocispec.Platform{OS: "windows", Architecture: "amd64"}},
}

func TestParse(t *testing.T) {
	for _, tt := range goodSpecs {
		got, err := platforms.Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// unsupportedSpecs are well formed but not in the table: the error wraps
// ErrUnsupported and reads "<input>": unsupported platform: <what>
// (supported: ...).
var unsupportedSpecs = []struct {
	in   string
	what string
}{
	// containerd's Parse accepts these; we do not.
	{"linux/foo", `architecture "foo"`},
	{"foo", `architecture "foo"`},
	{"foo/v1", `operating system "foo"`},
	{"linux/sparc64", `architecture "sparc64"`},
	{"linux/ppc64", `architecture "ppc64"`},
	{"linux/mips64", `architecture "mips64"`},
	{"linux/loong64", `architecture "loong64"`},
	{"freebsd/amd64", `operating system "freebsd"`},
	{"FreeBSD/amd64", `operating system "freebsd"`},
	{"freebsd", `architecture "freebsd"`},
	{"windows/arm64", `architecture "arm64" on windows`},
	{"darwin/amd64", `architecture "amd64" on darwin`},
	{"windows/386", `architecture "386" on windows`},
	{"linux/arm64/v9", `variant "v9" of linux/arm64`},
	{"linux/arm64/9.0", `variant "v9" of linux/arm64`},
	{"linux/arm/v8", `variant "v8" of linux/arm`},
	{"arm/v4", `variant "v4" of linux/arm`},
	{"linux/amd64/v5", `variant "v5" of linux/amd64`},
	{"linux/amd64/2", `variant "2" of linux/amd64`},
	{"linux/386/v7", `variant "v7" of linux/386`},
	{"windows/amd64/v2", `variant "v2" of windows/amd64`},
	// An alias that implies a variant, contradicted.
	{"linux/armhf/v6", `variant "v6" contradicts "armhf", which is linux/arm/v7`},
	{"armel/v7", `variant "v7" contradicts "armel", which is linux/arm/v6`},
	{"linux/i386/v1", `variant "v1" contradicts "i386", which is linux/386`},
}

func TestParseUnsupported(t *testing.T) {
	for _, tt := range unsupportedSpecs {
		p, err := platforms.Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", tt.in, p)
			continue
		}
		want := `"` + tt.in + `": unsupported platform: ` + tt.what + ` (supported: ` + supportedText + `)`
		if err.Error() != want {
			t.Errorf("Parse(%q) error\n got: %v\nwant: %s", tt.in, err, want)
		}
		if !errors.Is(err, platforms.ErrUnsupported) {
			t.Errorf("Parse(%q) error %v does not wrap ErrUnsupported", tt.in, err)
		}
	}
}

// malformedSpecs are not platform specifiers at all: the error names the
// input and does not wrap ErrUnsupported.
var malformedSpecs = []struct {
	in, want string
}{
	{"", `"": malformed platform: empty, want os/arch[/variant] or arch[/variant]`},
	{"a/b/c/d", `"a/b/c/d": malformed platform: 4 components, want os/arch[/variant] or arch[/variant]`},
	{"linux/amd64/v2/x", `"linux/amd64/v2/x": malformed platform: 4 components, want os/arch[/variant] or arch[/variant]`},
	{"linux//amd64", `"linux//amd64": malformed platform: empty component, want os/arch[/variant] or arch[/variant]`},
	{"/amd64", `"/amd64": malformed platform: empty component, want os/arch[/variant] or arch[/variant]`},
	{"linux/", `"linux/": malformed platform: empty component, want os/arch[/variant] or arch[/variant]`},
	{"/", `"/": malformed platform: empty component, want os/arch[/variant] or arch[/variant]`},
	{"linux/amd 64", `"linux/amd 64": malformed platform: component "amd 64" may only hold letters, digits, '_', '.' and '-'`},
	{" linux/amd64", `" linux/amd64": malformed platform: component " linux" may only hold letters, digits, '_', '.' and '-'`},
	{"linux/amd64 ", `"linux/amd64 ": malformed platform: component "amd64 " may only hold letters, digits, '_', '.' and '-'`},
	{"linux/amd64\n", `"linux/amd64\n": malformed platform: component "amd64\n" may only hold letters, digits, '_', '.' and '-'`},
	{"linux/*", `"linux/*": malformed platform: component "*" may only hold letters, digits, '_', '.' and '-'`},
	{"windows(10.0.17763)/amd64", `"windows(10.0.17763)/amd64": malformed platform: component "windows(10.0.17763)" may only hold letters, digits, '_', '.' and '-'`},
	{"linux/amd64,linux/arm64", `"linux/amd64,linux/arm64": malformed platform: component "amd64,linux" may only hold letters, digits, '_', '.' and '-'`},
	{"linux", `"linux": malformed platform: an operating system without an architecture, want os/arch[/variant] or arch[/variant]`},
	{"Windows", `"Windows": malformed platform: an operating system without an architecture, want os/arch[/variant] or arch[/variant]`},
	{"macos", `"macos": malformed platform: an operating system without an architecture, want os/arch[/variant] or arch[/variant]`},
}

func TestParseMalformed(t *testing.T) {
	for _, tt := range malformedSpecs {
		p, err := platforms.Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", tt.in, p)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Parse(%q) error\n got: %v\nwant: %s", tt.in, err, tt.want)
		}
		if errors.Is(err, platforms.ErrUnsupported) {
			t.Errorf("Parse(%q) error %v wraps ErrUnsupported, want a malformed-input error", tt.in, err)
		}
	}
}

func TestMustParse(t *testing.T) {
	if got := platforms.Format(platforms.MustParse("arm")); got != "linux/arm/v7" {
		t.Errorf(`MustParse("arm") = %s, want linux/arm/v7`, got)
	}
	defer func() {
		r := recover()
		msg, _ := r.(string)
		want := `platforms: MustParse: "linux/foo": unsupported platform: architecture "foo"`
		if !strings.HasPrefix(msg, want) {
			t.Errorf("panic = %v, want it to start with %s", r, want)
		}
	}()
	platforms.MustParse("linux/foo")
	t.Error("MustParse(linux/foo) did not panic")
}

func TestParseList(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"linux/amd64", []string{"linux/amd64"}},
		{"linux/amd64,linux/arm64", []string{"linux/amd64", "linux/arm64"}},
		{"linux/arm64,linux/amd64", []string{"linux/arm64", "linux/amd64"}}, // order kept
		{" linux/amd64 , arm64/v8,\tarm ", []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}},
		{"linux/arm/v7,linux/arm/v6,linux/arm/v5", []string{"linux/arm/v7", "linux/arm/v6", "linux/arm/v5"}},
		{"linux/amd64,linux/amd64/v2,linux/amd64/v3", []string{"linux/amd64", "linux/amd64/v2", "linux/amd64/v3"}},
		{"linux/amd64,windows/amd64,darwin/arm64", []string{"linux/amd64", "windows/amd64", "darwin/arm64"}},
	} {
		ps, err := platforms.ParseList(tt.in)
		if err != nil {
			t.Errorf("ParseList(%q): %v", tt.in, err)
			continue
		}
		var got []string
		for _, p := range ps {
			got = append(got, platforms.Format(p))
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseListErrors(t *testing.T) {
	for _, tt := range []struct {
		in, want    string
		unsupported bool
	}{
		{"", `"": empty platform list, want platforms separated by commas, such as linux/amd64,linux/arm64`, false},
		{"  ", `"  ": empty platform list, want platforms separated by commas, such as linux/amd64,linux/arm64`, false},
		{"linux/amd64,", `"linux/amd64,": item 2 of the platform list is empty`, false},
		{",linux/amd64", `",linux/amd64": item 1 of the platform list is empty`, false},
		{"linux/amd64, ,linux/arm64", `"linux/amd64, ,linux/arm64": item 2 of the platform list is empty`, false},
		{",", `",": item 1 of the platform list is empty`, false},
		// Two spellings of one platform.
		{"linux/arm,linux/arm/v7", `"linux/arm,linux/arm/v7": "linux/arm" and "linux/arm/v7" are both linux/arm/v7: list each platform once`, false},
		{"arm64,linux/arm64/v8", `"arm64,linux/arm64/v8": "arm64" and "linux/arm64/v8" are both linux/arm64: list each platform once`, false},
		{"linux/amd64/v1, linux/amd64", `"linux/amd64/v1, linux/amd64": "linux/amd64/v1" and "linux/amd64" are both linux/amd64: list each platform once`, false},
		{"linux/amd64,linux/arm64,linux/amd64", `"linux/amd64,linux/arm64,linux/amd64": "linux/amd64" and "linux/amd64" are both linux/amd64: list each platform once`, false},
		{"armhf,aarch64,arm/v7", `"armhf,aarch64,arm/v7": "armhf" and "arm/v7" are both linux/arm/v7: list each platform once`, false},
		// A bad item: Parse's error, naming the item.
		{"linux/amd64,linux/foo", `"linux/foo": unsupported platform: architecture "foo" (supported: ` + supportedText + `)`, true},
		{"linux/amd64,linux/amd64/v2/x", `"linux/amd64/v2/x": malformed platform: 4 components, want os/arch[/variant] or arch[/variant]`, false},
	} {
		ps, err := platforms.ParseList(tt.in)
		if err == nil {
			t.Errorf("ParseList(%q) = %+v, want an error", tt.in, ps)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseList(%q) error\n got: %v\nwant: %s", tt.in, err, tt.want)
		}
		if got := errors.Is(err, platforms.ErrUnsupported); got != tt.unsupported {
			t.Errorf("ParseList(%q): errors.Is(err, ErrUnsupported) = %v, want %v", tt.in, got, tt.unsupported)
		}
	}
}

func TestNormalize(t *testing.T) {
	for _, tt := range []struct {
		in, want ocispec.Platform
	}{
		{ocispec.Platform{OS: "linux", Architecture: "arm"}, ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
		{ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, ocispec.Platform{OS: "linux", Architecture: "arm64"}},
		{ocispec.Platform{OS: "linux", Architecture: "amd64", Variant: "v1"}, ocispec.Platform{OS: "linux", Architecture: "amd64"}},
		{ocispec.Platform{OS: "Linux", Architecture: "AArch64", Variant: "V8"}, ocispec.Platform{OS: "linux", Architecture: "arm64"}},
		{ocispec.Platform{Architecture: "x86_64"}, ocispec.Platform{OS: "linux", Architecture: "amd64"}},
		{ocispec.Platform{Architecture: "arm", Variant: "v6"}, ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}},
		{ocispec.Platform{OS: "macos", Architecture: "arm64"}, ocispec.Platform{OS: "darwin", Architecture: "arm64"}},
		// OSVersion and OSFeatures are not part of the table's key.
		{
			ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.1234", OSFeatures: []string{"win32k"}},
			ocispec.Platform{OS: "windows", Architecture: "amd64"},
		},
	} {
		got, err := platforms.Normalize(tt.in)
		if err != nil {
			t.Errorf("Normalize(%+v): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Normalize(%+v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeErrors(t *testing.T) {
	for _, tt := range []struct {
		in          ocispec.Platform
		want        string
		unsupported bool
	}{
		{ocispec.Platform{}, `"": malformed platform: no architecture`, false},
		{ocispec.Platform{OS: "linux"}, `"linux": malformed platform: no architecture`, false},
		{ocispec.Platform{OS: "linux", Architecture: "foo"}, `"linux/foo": unsupported platform: architecture "foo" (supported: ` + supportedText + `)`, true},
		{ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v9"}, `"linux/arm64/v9": unsupported platform: variant "v9" of linux/arm64 (supported: ` + supportedText + `)`, true},
		{ocispec.Platform{OS: "plan9", Architecture: "amd64"}, `"plan9/amd64": unsupported platform: operating system "plan9" (supported: ` + supportedText + `)`, true},
		{ocispec.Platform{OS: "linux", Architecture: "amd64/v2"}, `"linux/amd64/v2": unsupported platform: architecture "amd64/v2" (supported: ` + supportedText + `)`, true},
	} {
		p, err := platforms.Normalize(tt.in)
		if err == nil {
			t.Errorf("Normalize(%+v) = %+v, want an error", tt.in, p)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Normalize(%+v) error\n got: %v\nwant: %s", tt.in, err, tt.want)
		}
		if got := errors.Is(err, platforms.ErrUnsupported); got != tt.unsupported {
			t.Errorf("Normalize(%+v): errors.Is(err, ErrUnsupported) = %v, want %v", tt.in, got, tt.unsupported)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tt := range []struct {
		in   ocispec.Platform
		want string
	}{
		{ocispec.Platform{OS: "linux", Architecture: "amd64"}, "linux/amd64"},
		{ocispec.Platform{OS: "linux", Architecture: "amd64", Variant: "v2"}, "linux/amd64/v2"},
		{ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, "linux/arm/v7"},
		// One platform, one ID.
		{ocispec.Platform{OS: "linux", Architecture: "arm"}, "linux/arm/v7"},
		{ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, "linux/arm64"},
		{ocispec.Platform{OS: "linux", Architecture: "amd64", Variant: "v1"}, "linux/amd64"},
		{ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763"}, "windows/amd64"},
		// Unsupported values are joined as they are.
		{ocispec.Platform{OS: "linux", Architecture: "foo", Variant: "bar"}, "linux/foo/bar"},
		{ocispec.Platform{OS: "freebsd", Architecture: "amd64"}, "freebsd/amd64"},
		{ocispec.Platform{}, ""},
	} {
		if got := platforms.Format(tt.in); got != tt.want {
			t.Errorf("Format(%+v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestContainerdDifferences pins the places where containerd's Parse and
// ours part ways, so a change in containerd's Normalize shows up here.
func TestContainerdDifferences(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"linux/arm64/v8", "linux/arm64"}, // containerd's Parse keeps v8
		{"linux/arm", "linux/arm/v7"},     // containerd's Parse drops v7
		{"arm64", "linux/arm64"},          // containerd's Parse uses the host OS
	} {
		p, err := platforms.Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := platforms.Format(p); got != tt.want {
			t.Errorf("Parse(%q) = %s, want %s", tt.in, got, tt.want)
		}
		// Format of a parsed platform is a plain join, no normalising left.
		if got := strings.Join(nonEmpty(p.OS, p.Architecture, p.Variant), "/"); got != tt.want {
			t.Errorf("Parse(%q) fields = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func TestEqual(t *testing.T) {
	p := func(os, arch, variant string) ocispec.Platform {
		return ocispec.Platform{OS: os, Architecture: arch, Variant: variant}
	}
	for _, tc := range []struct {
		a, b ocispec.Platform
		want bool
	}{
		{p("linux", "amd64", ""), p("linux", "amd64", ""), true},
		{p("linux", "arm", ""), p("linux", "arm", "v7"), true},
		{p("linux", "aarch64", ""), p("linux", "arm64", "v8"), true},
		{p("Linux", "AMD64", ""), p("linux", "amd64", ""), true},
		{p("", "amd64", ""), p("linux", "amd64", ""), true},
		{p("linux", "amd64", "v2"), p("linux", "amd64", ""), false},
		{p("linux", "arm", "v6"), p("linux", "arm", "v7"), false},
		{p("linux", "amd64", ""), p("windows", "amd64", ""), false},
		// Unsupported platforms: containerd's normalisation.
		{p("linux", "mips64le", ""), p("linux", "mips64le", ""), true},
		{p("linux", "mips64le", ""), p("linux", "mips64", ""), false},
	} {
		if got := platforms.Equal(tc.a, tc.b); got != tc.want {
			t.Errorf("Equal(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := platforms.Equal(tc.b, tc.a); got != tc.want {
			t.Errorf("Equal(%v, %v) = %v, want %v (not symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}
