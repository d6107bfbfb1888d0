package keyvalue

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tonistiigi/go-csvvalue"
)

// Pair is one key=value field.
type Pair struct{ Key, Value string }

// ErrNotKeyValue is a field without "=" or with an empty key.
var ErrNotKeyValue = errors.New("is not key=value")

// ErrGivenTwice is a key that Map met twice.
var ErrGivenTwice = errors.New("given twice")

// FieldError is a field that cannot be read: Err is ErrNotKeyValue or
// ErrGivenTwice.
type FieldError struct {
	// Field is the field for ErrNotKeyValue, the key for ErrGivenTwice.
	Field string
	Err   error
}

func (e *FieldError) Error() string {
	if errors.Is(e.Err, ErrGivenTwice) {
		return e.Field + " " + e.Err.Error()
	}
	return fmt.Sprintf("%q %v", e.Field, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

// Pairs reads s, one CSV record of key=value fields, in order. A field is
// split at its first "="; quotes are CSV's ("dest=a,b" is one field, ""
// inside quotes is a quote). Keys and values are kept as given, spaces
// and case included, and a key may repeat. An empty s is one empty field,
// and so an error.
func Pairs(s string) ([]Pair, error) {
	return pairs(s, false)
}

// Map reads s as Pairs does, but drops the spaces around each field
// (" type=oci , dest=x " is type=oci,dest=x, and a quoted field may follow
// a space) and refuses a key given twice.
func Map(s string) (map[string]string, error) {
	ps, err := pairs(s, true)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		if _, dup := m[p.Key]; dup {
			return nil, &FieldError{Field: p.Key, Err: ErrGivenTwice}
		}
		m[p.Key] = p.Value
	}
	return m, nil
}

func pairs(s string, trim bool) ([]Pair, error) {
	parser := csvvalue.NewParser()
	parser.TrimLeadingSpace = trim
	fields, err := parser.Fields(s, nil)
	if errors.Is(err, io.EOF) {
		fields, err = []string{""}, nil
	}
	if err != nil {
		return nil, err
	}
	ps := make([]Pair, 0, len(fields))
	for _, f := range fields {
		if trim {
			f = strings.TrimSpace(f)
		}
		p, err := Cut(f)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// Cut splits one field at its first "=". A field without "=" or with an
// empty key is a *FieldError wrapping ErrNotKeyValue.
func Cut(field string) (Pair, error) {
	k, v, ok := strings.Cut(field, "=")
	if !ok || k == "" {
		return Pair{}, &FieldError{Field: field, Err: ErrNotKeyValue}
	}
	return Pair{Key: k, Value: v}, nil
}

// Field renders key=value as one field that Pairs reads back: quoted,
// CSV's way, when it holds a comma, a quote, or spaces at either end. Map
// reads it back too, but for those spaces, which it drops.
func Field(key, value string) string {
	f := key + "=" + value
	if strings.ContainsAny(f, `,"`) || strings.TrimSpace(f) != f {
		return `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
	}
	return f
}
