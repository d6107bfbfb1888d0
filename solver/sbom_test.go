package solver

import (
	"strings"
	"testing"
)

func TestWithSBOM(t *testing.T) {
	var o buildOptions
	if err := WithSBOM("")(&o); err == nil || !strings.Contains(err.Error(), "empty generator") {
		t.Errorf("WithSBOM(\"\") = %v", err)
	}
	if err := WithSBOM(DefaultSBOMGenerator)(&o); err != nil || o.sbomGenerator != DefaultSBOMGenerator {
		t.Errorf("WithSBOM(default) = %v, %q", err, o.sbomGenerator)
	}
}
