package solver

import (
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/platforms"
)

func testNodes(specs ...string) []node {
	var out []node
	for _, s := range specs {
		// "addr=native,other,..."
		addr, list, _ := strings.Cut(s, "=")
		n := node{addr: addr, runs: map[string]bool{}}
		for i, p := range strings.Split(list, ",") {
			pl := platforms.MustParse(p)
			if i == 0 {
				n.native = pl
			}
			n.runs[platforms.Format(pl)] = true
		}
		out = append(out, n)
	}
	return out
}

func testTargets(s string) []ocispec.Platform {
	var out []ocispec.Platform
	for _, p := range strings.Split(s, ",") {
		out = append(out, platforms.MustParse(p))
	}
	return out
}

func TestSchedule(t *testing.T) {
	for _, tc := range []struct {
		name    string
		nodes   []node
		targets string
		want    []string // node per target, "+" marks native
	}{
		{"one node builds everything", testNodes("a=linux/amd64,linux/arm64,linux/arm/v7"),
			"linux/amd64,linux/arm64,linux/arm/v7", []string{"a+", "a", "a"}},
		{"a native arm64 node takes arm64", testNodes("x86=linux/amd64,linux/arm64,linux/arm/v7", "arm=linux/arm64,linux/arm/v7"),
			"linux/amd64,linux/arm64,linux/arm/v7", []string{"x86+", "arm+", "x86"}},
		{"cross targets spread by load", testNodes("a=linux/amd64,linux/arm64,linux/arm/v7", "b=linux/amd64,linux/arm64,linux/arm/v7"),
			"linux/amd64,linux/arm64,linux/arm/v7", []string{"a+", "b", "a"}},
		{"native load counts before spreading", testNodes("a=linux/amd64,linux/arm64", "b=linux/arm64,linux/amd64"),
			"linux/riscv64,linux/amd64,linux/arm64", []string{"a", "a+", "b+"}},
		{"a node that cannot run the platform is avoided", testNodes("a=linux/amd64", "b=linux/amd64,linux/s390x"),
			"linux/amd64,linux/s390x", []string{"a+", "b"}},
		{"no node runs it: still assigned", testNodes("a=linux/amd64", "b=linux/amd64"),
			"linux/ppc64le", []string{"a"}},
		{"two native nodes share", testNodes("a=linux/arm64", "b=linux/arm64"),
			"linux/arm64", []string{"a+"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := schedule(testTargets(tc.targets), tc.nodes)
			if len(plan) != len(tc.want) {
				t.Fatalf("plan has %d entries, want %d", len(plan), len(tc.want))
			}
			for i, a := range plan {
				got := a.Node
				if a.Native {
					got += "+"
				}
				if got != tc.want[i] {
					t.Errorf("target %s: %s, want %s\n%s", platforms.Format(a.Target), got, tc.want[i], plan)
				}
				for _, n := range tc.nodes {
					if n.addr == a.Node && platforms.Format(n.native) != platforms.Format(a.Build) {
						t.Errorf("target %s: build platform %s, want the node's %s", platforms.Format(a.Target), platforms.Format(a.Build), platforms.Format(n.native))
					}
				}
			}
		})
	}
}

func TestReschedule(t *testing.T) {
	nodes := testNodes("a=linux/amd64,linux/arm64", "b=linux/amd64,linux/arm64", "arm=linux/arm64")
	plan := schedule(testTargets("linux/amd64,linux/arm64"), nodes)
	if plan[1].Node != "arm" || !plan[1].Native {
		t.Fatalf("plan:\n%s", plan)
	}
	next, ok := reschedule(plan[1], nodes, map[string]bool{"arm": true}, plan)
	if !ok || next.Node != "b" || next.Native || len(next.Retried) != 1 || next.Retried[0] != "arm" {
		t.Errorf("after arm fails: %+v, %v; want b (a is busier), retried from arm", next, ok)
	}
	if !strings.Contains(Plan{next}.String(), "after failing on arm") {
		t.Errorf("plan string %q does not say it was retried", Plan{next}.String())
	}
	if _, ok := reschedule(plan[1], nodes, map[string]bool{"a": true, "b": true, "arm": true}, plan); ok {
		t.Error("rescheduled with every node dead")
	}
}

func TestCacheForTarget(t *testing.T) {
	for _, tc := range []struct {
		in   Cache
		want string
	}{
		{Cache{Kind: CacheRegistry, Ref: "127.0.0.1:5000/app/cache:main"}, "127.0.0.1:5000/app/cache:main-linux-arm-v7"},
		{Cache{Kind: CacheRegistry, Ref: "127.0.0.1:5000/app/cache"}, "127.0.0.1:5000/app/cache:linux-arm-v7"},
		{Cache{Kind: CacheRegistry, Ref: "app/cache"}, "docker.io/app/cache:linux-arm-v7"},
		{Cache{Kind: CacheLocal, Dir: "/tmp/cache"}, "/tmp/cache/linux-arm-v7"},
	} {
		got := tc.in.forTarget(mustTargets(t, []ocispec.Platform{platforms.MustParse("linux/arm")})[0].slug())
		s := got.Ref + got.Dir
		if s != tc.want {
			t.Errorf("%+v for linux/arm/v7 = %s, want %s", tc.in, s, tc.want)
		}
	}
}

func TestFleetRefusesBadNodes(t *testing.T) {
	if _, err := NewFleet(); err == nil || !strings.Contains(err.Error(), "no nodes") {
		t.Errorf("NewFleet() = %v", err)
	}
	c := &Client{addr: "unix:///x.sock"}
	if _, err := NewFleet(c, c); err == nil || !strings.Contains(err.Error(), "unix:///x.sock given twice") {
		t.Errorf("NewFleet(c, c) = %v", err)
	}
	if _, err := ConnectFleet(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "no node addresses") {
		t.Errorf("ConnectFleet(nil) = %v", err)
	}
	if _, err := ConnectFleet(t.Context(), []string{" "}); err == nil || !strings.Contains(err.Error(), "node address 1 is empty") {
		t.Errorf("ConnectFleet(blank) = %v", err)
	}
	if err := WithNodeRetries(-1)(&buildOptions{}); err == nil {
		t.Error("WithNodeRetries(-1) accepted")
	}
}
