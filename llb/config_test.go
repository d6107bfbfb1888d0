package llb

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
)

func configBase() Base {
	p := platforms.MustParse("linux/arm/v7")
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	return Base{
		Ref:      "example/base:1",
		Platform: p,
		Config: ocispec.Image{
			Created:  &created,
			Author:   "base author",
			Platform: ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"},
			Config: ocispec.ImageConfig{
				User:         "nobody",
				WorkingDir:   "/srv",
				Env:          []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "TZ=UTC"},
				Entrypoint:   []string{"/docker-entrypoint.sh"},
				Cmd:          []string{"nginx", "-g", "daemon off;"},
				ExposedPorts: map[string]struct{}{"80/tcp": {}},
				Volumes:      map[string]struct{}{"/var/cache": {}},
				Labels:       map[string]string{"maintainer": "base", "keep": "yes"},
				StopSignal:   "SIGQUIT",
			},
			RootFS:  ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{"sha256:aa", "sha256:bb"}},
			History: []ocispec.History{{CreatedBy: "ADD rootfs"}, {CreatedBy: "CMD", EmptyLayer: true}, {CreatedBy: "RUN apt-get"}},
		},
	}
}

func TestImageConfigInheritsBase(t *testing.T) {
	base := configBase()
	img := ImageConfig(base, ImageSpec{})
	want := base.Config.Config
	if !equalJSON(t, img.Config, want) {
		t.Errorf("empty spec changed the config:\n got %s\nwant %s", mustJSON(t, img.Config), mustJSON(t, want))
	}
	if img.OS != "linux" || img.Architecture != "arm" || img.Variant != "v7" {
		t.Errorf("platform %s/%s/%s", img.OS, img.Architecture, img.Variant)
	}
	if img.Created != nil || img.Author != "" {
		t.Errorf("base created %v / author %q carried over", img.Created, img.Author)
	}
	if len(img.History) != 3 || img.History[2].CreatedBy != "RUN apt-get" {
		t.Errorf("history %v, want the base's", img.History)
	}
	if img.RootFS.Type != "layers" || len(img.RootFS.DiffIDs) != 0 {
		t.Errorf("rootfs %v, want type layers and no diff IDs (the exporter fills them)", img.RootFS)
	}
}

func TestImageConfigAppliesSpec(t *testing.T) {
	base := configBase()
	created := time.Date(2025, 6, 7, 8, 9, 10, 0, time.FixedZone("CEST", 2*3600))
	img := ImageConfig(base, ImageSpec{
		Env:          []string{"LANG=en_US.UTF-8", "APP_MODE=prod", "PATH=/usr/local/bin:/usr/bin:/bin"},
		User:         "65532:65532",
		WorkingDir:   "/app",
		Entrypoint:   []string{"/usr/local/bin/app"},
		ExposedPorts: []string{"8080/tcp", "53/udp", "9000", "9443/TCP"},
		Labels:       map[string]string{"maintainer": "me", "org.opencontainers.image.version": "1.2.3"},
		Created:      &created,
	})
	cfg := img.Config
	wantEnv := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=en_US.UTF-8", "TZ=UTC", "APP_MODE=prod"}
	if !slices.Equal(cfg.Env, wantEnv) {
		t.Errorf("env %q\nwant %q (overridden in place by key, new keys appended)", cfg.Env, wantEnv)
	}
	if cfg.User != "65532:65532" || cfg.WorkingDir != "/app" {
		t.Errorf("user %q workdir %q", cfg.User, cfg.WorkingDir)
	}
	if !slices.Equal(cfg.Entrypoint, []string{"/usr/local/bin/app"}) || cfg.Cmd != nil {
		t.Errorf("entrypoint %q cmd %q: setting the entrypoint must clear the inherited cmd", cfg.Entrypoint, cfg.Cmd)
	}
	wantPorts := []string{"53/udp", "80/tcp", "8080/tcp", "9000/tcp", "9443/tcp"}
	if got := slices.Sorted(maps.Keys(cfg.ExposedPorts)); !slices.Equal(got, wantPorts) {
		t.Errorf("ports %q, want %q", got, wantPorts)
	}
	wantLabels := map[string]string{"maintainer": "me", "keep": "yes", "org.opencontainers.image.version": "1.2.3"}
	if !maps.Equal(cfg.Labels, wantLabels) {
		t.Errorf("labels %v, want %v", cfg.Labels, wantLabels)
	}
	if _, ok := cfg.Volumes["/var/cache"]; !ok || cfg.StopSignal != "SIGQUIT" {
		t.Errorf("volumes %v stop signal %q not inherited", cfg.Volumes, cfg.StopSignal)
	}
	if img.Created == nil || img.Created.Location() != time.UTC || !img.Created.Equal(created) {
		t.Errorf("created %v, want %v in UTC", img.Created, created)
	}

	// The base is not modified.
	if b := base.Config.Config; b.Env[1] != "LANG=C.UTF-8" || b.Labels["maintainer"] != "base" || len(b.ExposedPorts) != 1 || b.Cmd == nil {
		t.Errorf("ImageConfig modified its base: %+v", b)
	}
}

func TestImageConfigEntrypointAndCmd(t *testing.T) {
	base := configBase()
	for _, tt := range []struct {
		name               string
		spec               ImageSpec
		wantEntry, wantCmd []string
	}{
		{"inherit both", ImageSpec{}, []string{"/docker-entrypoint.sh"}, []string{"nginx", "-g", "daemon off;"}},
		{"cmd only keeps entrypoint", ImageSpec{Cmd: []string{"serve"}}, []string{"/docker-entrypoint.sh"}, []string{"serve"}},
		{"entrypoint clears cmd", ImageSpec{Entrypoint: []string{"/app"}}, []string{"/app"}, nil},
		{"entrypoint and cmd", ImageSpec{Entrypoint: []string{"/app"}, Cmd: []string{"serve"}}, []string{"/app"}, []string{"serve"}},
		{"empty entrypoint clears both", ImageSpec{Entrypoint: []string{}}, nil, nil},
		{"empty cmd clears cmd", ImageSpec{Cmd: []string{}}, []string{"/docker-entrypoint.sh"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ImageConfig(base, tt.spec).Config
			if !slices.Equal(cfg.Entrypoint, tt.wantEntry) || !slices.Equal(cfg.Cmd, tt.wantCmd) {
				t.Errorf("entrypoint %q cmd %q, want %q %q", cfg.Entrypoint, cfg.Cmd, tt.wantEntry, tt.wantCmd)
			}
		})
	}
}

func TestImageConfigScratch(t *testing.T) {
	img := ImageConfig(Scratch(platforms.MustParse("linux/arm64")), ImageSpec{Env: []string{"A=1"}})
	if img.OS != "linux" || img.Architecture != "arm64" || img.Variant != "" {
		t.Errorf("platform %s/%s/%s", img.OS, img.Architecture, img.Variant)
	}
	if !slices.Equal(img.Config.Env, []string{"PATH=" + defaultPathEnv, "A=1"}) || img.Config.WorkingDir != "/" {
		t.Errorf("scratch env %q workdir %q", img.Config.Env, img.Config.WorkingDir)
	}
	if img.History != nil || img.Config.Entrypoint != nil || img.Config.Labels != nil {
		t.Errorf("scratch config has %+v", img)
	}
	// arm64/v8 is arm64.
	if img := ImageConfig(Scratch(ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}), ImageSpec{}); img.Variant != "" {
		t.Errorf("arm64/v8 config variant %q, want none", img.Variant)
	}
	if img := ImageConfig(Scratch(ocispec.Platform{OS: "linux", Architecture: "arm"}), ImageSpec{}); img.Variant != "v7" {
		t.Errorf("arm config variant %q, want v7", img.Variant)
	}
}

func TestImageConfigDeterministic(t *testing.T) {
	spec := ImageSpec{Labels: map[string]string{"a": "1", "b": "2", "c": "3"}, ExposedPorts: []string{"1", "2", "3"}}
	first := mustJSON(t, ImageConfig(configBase(), spec))
	for range 20 {
		if got := mustJSON(t, ImageConfig(configBase(), spec)); got != first {
			t.Fatalf("config JSON differs between calls:\n%s\n%s", first, got)
		}
	}
}

func TestImageSpecValidate(t *testing.T) {
	if err := (ImageSpec{Env: []string{"A=1", "B="}, WorkingDir: "/x", ExposedPorts: []string{"80", "53/udp", "1/sctp"}}).Validate(); err != nil {
		t.Errorf("valid spec: %v", err)
	}
	for _, tt := range []struct {
		spec ImageSpec
		want string
	}{
		{ImageSpec{Env: []string{"NOVALUE"}}, `"NOVALUE"`},
		{ImageSpec{Env: []string{"=x"}}, `"=x"`},
		{ImageSpec{WorkingDir: "app"}, `WorkingDir "app"`},
		{ImageSpec{ExposedPorts: []string{"http"}}, `"http"`},
		{ImageSpec{ExposedPorts: []string{"70000"}}, `"70000"`},
		{ImageSpec{ExposedPorts: []string{"80/icmp"}}, `"icmp"`},
		{ImageSpec{ExposedPorts: []string{"080"}}, `"080"`},
		{ImageSpec{Labels: map[string]string{"": "x"}}, "empty key"},
	} {
		err := tt.spec.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want an error containing %s", tt.spec, err, tt.want)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	dt, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(dt)
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	return mustJSON(t, a) == mustJSON(t, b)
}
