package keyvalue_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/crossllb/crossllb/internal/keyvalue"
)

func TestPairs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []keyvalue.Pair
	}{
		{"id=a,src=x", []keyvalue.Pair{{"id", "a"}, {"src", "x"}}},
		{"id=a,id=b", []keyvalue.Pair{{"id", "a"}, {"id", "b"}}},
		{"k=", []keyvalue.Pair{{"k", ""}}},
		{"k=a=b", []keyvalue.Pair{{"k", "a=b"}}},
		// Kept as given: spaces and case.
		{"ID=a, src=x ", []keyvalue.Pair{{"ID", "a"}, {" src", "x "}}},
		// A quoted field holds commas; "" is a quote.
		{`type=oci,"dest=/tmp/a,b.tar"`, []keyvalue.Pair{{"type", "oci"}, {"dest", "/tmp/a,b.tar"}}},
		{`"k=say ""hi"""`, []keyvalue.Pair{{"k", `say "hi"`}}},
	} {
		got, err := keyvalue.Pairs(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Pairs(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestMap(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
	}{
		{"type=oci,dest=x.tar", map[string]string{"type": "oci", "dest": "x.tar"}},
		{" type=oci , dest=x.tar ", map[string]string{"type": "oci", "dest": "x.tar"}},
		{`type=oci,"dest=/tmp/a,b.tar"`, map[string]string{"type": "oci", "dest": "/tmp/a,b.tar"}},
		{`type=oci, "dest=/tmp/a,b.tar"`, map[string]string{"type": "oci", "dest": "/tmp/a,b.tar"}},
	} {
		got, err := keyvalue.Map(tc.in)
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("Map(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		is       error
	}{
		{"", `"" is not key=value`, keyvalue.ErrNotKeyValue},
		{"type=oci,dest", `"dest" is not key=value`, keyvalue.ErrNotKeyValue},
		{"type=oci,", `"" is not key=value`, keyvalue.ErrNotKeyValue},
		{"=x", `"=x" is not key=value`, keyvalue.ErrNotKeyValue},
		{"dest=a,dest=b", "dest given twice", keyvalue.ErrGivenTwice},
		{`dest=a"b`, `bare "`, nil},
		{`"dest=a,b`, `extraneous or missing "`, nil},
	} {
		_, err := keyvalue.Map(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("Map(%q) = %v, want an error containing %q (%v)", tc.in, err, tc.want, tc.is)
		}
	}
	// Pairs lets a key repeat.
	if _, err := keyvalue.Pairs("dest=a,dest=b"); err != nil {
		t.Errorf("Pairs with a repeated key: %v", err)
	}
}

// Field quotes what needs it, and Pairs reads it back.
func TestField(t *testing.T) {
	for _, v := range []string{"x.tar", "/tmp/a,b.tar", `a"b`, " padded ", ""} {
		f := keyvalue.Field("dest", v)
		got, err := keyvalue.Pairs("type=oci," + f)
		if err != nil || len(got) != 2 || got[1] != (keyvalue.Pair{Key: "dest", Value: v}) {
			t.Errorf("Field(dest, %q) = %s, read back as %q, %v", v, f, got, err)
		}
	}
	if f := keyvalue.Field("dest", "x.tar"); f != "dest=x.tar" {
		t.Errorf("Field(dest, x.tar) = %s, want it unquoted", f)
	}
}
