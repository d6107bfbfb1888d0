package keyvalue_test

import (
	"fmt"

	"github.com/crossllb/crossllb/internal/keyvalue"
)

// A value with a comma is quoted whole, as buildx reads --output.
func ExampleMap() {
	m, err := keyvalue.Map(`type=oci,"dest=/tmp/a,b.tar"`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m["type"], m["dest"])
	fmt.Println(keyvalue.Field("dest", m["dest"]))
	// Output:
	// oci /tmp/a,b.tar
	// "dest=/tmp/a,b.tar"
}
