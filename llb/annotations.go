package llb

import (
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// OCIAnnotations are the org.opencontainers.image.* annotations (also
// usable as labels) that describe an image, as defined in
// https://github.com/opencontainers/image-spec/blob/main/annotations.md.
// The ref.name and base.* annotations are not part of it: they name where
// an image is stored and what it was built from, not what it is.
type OCIAnnotations struct {
	Created                              *time.Time
	Authors, URL, Documentation, Source  string
	Version, Revision                    string
	Title, Description, Licenses, Vendor string
}

// Map returns the set annotations keyed by their OCI names; empty fields
// are left out, Created is written in RFC 3339 in UTC.
func (a OCIAnnotations) Map() map[string]string {
	m := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	if a.Created != nil {
		m[ocispec.AnnotationCreated] = a.Created.UTC().Format(time.RFC3339)
	}
	set(ocispec.AnnotationAuthors, a.Authors)
	set(ocispec.AnnotationURL, a.URL)
	set(ocispec.AnnotationDocumentation, a.Documentation)
	set(ocispec.AnnotationSource, a.Source)
	set(ocispec.AnnotationVersion, a.Version)
	set(ocispec.AnnotationRevision, a.Revision)
	set(ocispec.AnnotationTitle, a.Title)
	set(ocispec.AnnotationDescription, a.Description)
	set(ocispec.AnnotationLicenses, a.Licenses)
	set(ocispec.AnnotationVendor, a.Vendor)
	return m
}
