// Package keyvalue reads the comma-separated key=value values of buildx's
// and buildctl's flags (--output, --cache-from, --cache-to, --secret,
// --attest) the way they do: one CSV record, so a value holding a comma is
// quoted whole, as in
//
//	type=oci,"dest=/tmp/a,b.tar"
//
// Pairs keeps the fields as given, Map drops the spaces around them and
// refuses a key given twice. Errors are *FieldError values that name the
// field; callers prefix what was being parsed:
//
//	m, err := keyvalue.Map(s)
//	if err != nil {
//		return fmt.Errorf("output %q: %w", s, err)
//	}
package keyvalue
