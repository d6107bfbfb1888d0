package solver

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestParseOutput(t *testing.T) {
	dir := t.TempDir()
	tarPath := filepath.Join(dir, "app.tar")
	for _, tc := range []struct {
		in   string
		want Output
	}{
		{"type=oci,dest=" + tarPath, Output{Kind: KindOCITar, Dest: tarPath}},
		{"type=oci,dest=" + tarPath + ",tar=true", Output{Kind: KindOCITar, Dest: tarPath}},
		{"type=oci,tar=false,dest=" + dir + "/layout", Output{Kind: KindOCIDir, Dest: dir + "/layout"}},
		{"type=oci,dest=" + tarPath + ",name=127.0.0.1:5000/hello:v1", Output{Kind: KindOCITar, Dest: tarPath, Name: "127.0.0.1:5000/hello:v1"}},
		{"type=oci,name=hello,tar=false,dest=" + dir + "/layout", Output{Kind: KindOCIDir, Dest: dir + "/layout", Name: "hello"}},
		{"type=oci,dest=-", Output{Kind: KindOCITar, Dest: StdoutDest}},
		// A path with a comma is quoted, CSV's way, as buildx reads it.
		{`type=oci,"dest=` + dir + `/a,b.tar"`, Output{Kind: KindOCITar, Dest: dir + "/a,b.tar"}},
		{" type=image , name=reg.example.com/app:v1 , push=true ", Output{Kind: KindRegistry, Name: "reg.example.com/app:v1"}},
		{"type=registry,name=127.0.0.1:5000/app:v1,registry.insecure=true", Output{Kind: KindRegistry, Name: "127.0.0.1:5000/app:v1", Insecure: true}},
		// buildx's default tag, written out.
		{"type=image,name=127.0.0.1:5000/app,push=true", Output{Kind: KindRegistry, Name: "127.0.0.1:5000/app:latest"}},
		{"type=registry,name=app", Output{Kind: KindRegistry, Name: "app:latest"}},
	} {
		got, err := ParseOutput(tc.in)
		if err != nil {
			t.Errorf("ParseOutput(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseOutput(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		// String renders what parses back to the same output.
		again, err := ParseOutput(got.String())
		if err != nil || again != got {
			t.Errorf("ParseOutput(%q) = %+v, %v; want %+v", got.String(), again, err, got)
		}
	}
}

func TestParseOutputErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"dest=x.tar", "missing type"},
		{"type=docker,dest=x.tar", `unknown type "docker"`},
		{"type=oci", "missing dest"},
		{"type=oci,dest=/no/such/dir/x.tar", "the directory /no/such/dir does not exist"},
		{"type=oci,dest=" + dir + "/adir", "is a directory: add tar=false"},
		{"type=oci,dest=x.tar,tar=maybe", `tar="maybe" is not true or false`},
		{"type=oci,dest=x.tar,compression=zstd", `unknown key "compression"`},
		{"type=oci,dest=a.tar,dest=b.tar", "dest given twice"},
		{"type=oci,dest", `"dest" is not key=value`},
		{"type=image,name=reg.example.com/app:v1", "without push=true"},
		{"type=image,push=true", "missing name"},
		{"type=image,name=Reg.example.com/UPPER:v1,push=true", `invalid image name "Reg.example.com/UPPER:v1"`},
		{"type=image,name=app with space,push=true", "invalid image name"},
		{"type=image,name=app@sha256:abc,push=true", "invalid image name"},
		{"type=oci,dest=-,tar=false", "a directory cannot go to standard output"},
		{"type=oci,dest=x.tar,name=has space", `invalid image name "has space"`},
		{"type=oci,dest=x.tar,name=127.0.0.1:5000/app@sha256:" + strings.Repeat("a", 64), "has a digest"},
		{"type=image,name=127.0.0.1:5000/app@sha256:" + strings.Repeat("a", 64) + ",push=true", "has a digest: a push names a tag"},
		{"type=image,name=127.0.0.1:5000/app:v1@sha256:" + strings.Repeat("a", 64) + ",push=true", "drop the @sha256:... part"},
	} {
		_, err := ParseOutput(tc.in)
		if err == nil {
			t.Errorf("ParseOutput(%q) succeeded, want an error containing %q", tc.in, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseOutput(%q) = %q, want it to contain %q", tc.in, err, tc.want)
		}
	}
}

// The names an OCI layout's index.json gets, as BuildKit's oci exporter
// writes them; none without a name.
func TestLayoutNames(t *testing.T) {
	for name, want := range map[string]map[string]string{
		"127.0.0.1:5000/hello:v1": {"io.containerd.image.name": "127.0.0.1:5000/hello:v1", ocispec.AnnotationRefName: "v1"},
		"hello":                   {"io.containerd.image.name": "docker.io/library/hello:latest", ocispec.AnnotationRefName: "latest"},
		"":                        nil,
	} {
		if got := layoutNames(name); !maps.Equal(got, want) {
			t.Errorf("layoutNames(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestOutputValidate(t *testing.T) {
	if err := (Output{}).Validate(); err == nil || !strings.Contains(err.Error(), "no type") {
		t.Errorf("zero Output: %v", err)
	}
	if err := (Output{Kind: "zip"}).Validate(); err == nil || !strings.Contains(err.Error(), `unknown kind "zip"`) {
		t.Errorf("unknown kind: %v", err)
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := OCITar(filepath.Join(f, "x.tar")).Validate(); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("parent is a file: %v", err)
	}
	if err := Registry("127.0.0.1:5000/a:b", Insecure()).Validate(); err != nil {
		t.Errorf("valid registry output: %v", err)
	}
}

// Registry's name needs a tag: an untagged one is refused, naming it and
// saying to add one, rather than pushed as :latest.
func TestRegistryNeedsATag(t *testing.T) {
	for _, name := range []string{"127.0.0.1:5000/app", "app", "registry.example.com/team/app"} {
		err := WithOutput(Registry(name))(&buildOptions{})
		if err == nil || !strings.Contains(err.Error(), `name "`+name+`" has no tag`) || !strings.Contains(err.Error(), name+":v1") {
			t.Errorf("Registry(%q): %v, want a refusal naming it and saying to add :TAG", name, err)
		}
	}
	if err := Registry("127.0.0.1:5000/app:latest").Validate(); err != nil {
		t.Errorf("an explicit :latest: %v", err)
	}
	if err := Registry("127.0.0.1:5000/app@sha256:" + strings.Repeat("a", 64)).Validate(); err == nil || !strings.Contains(err.Error(), "has a digest") {
		t.Errorf("a digest: %v", err)
	}
}
