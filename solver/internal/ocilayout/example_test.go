package ocilayout_test

import (
	"bytes"
	"context"
	"fmt"
	"os"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/crossllb/crossllb/solver/internal/ocilayout"
)

// A blob is stored only if its content matches its descriptor.
func ExampleWriteBlob() {
	dir, err := os.MkdirTemp("", "layout")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	dt := []byte(`{"schemaVersion":2}`)
	d := ocispec.Descriptor{Digest: digest.FromBytes(dt), Size: int64(len(dt))}
	fmt.Println(ocilayout.WriteBlob(dir, d, bytes.NewReader([]byte(`{"schemaVersion":3}`))))
	fmt.Println(ocilayout.WriteBlob(dir, d, bytes.NewReader(dt)))
	back, err := ocilayout.FetchVerified(context.Background(), ocilayout.DirFetcher(dir), d.Digest)
	fmt.Println(string(back), err)
	// Output:
	// content does not match its digest
	// <nil>
	// {"schemaVersion":2} <nil>
}
