// Package ocilayout holds solver's OCI image layout mechanics, apart from
// talking to BuildKit: storing blobs with their digests checked, extracting
// them from a layout tar, finishing a layout around an index (collecting
// the blobs it does not reach), writing it as a reproducible tar, merging
// into an existing layout without dropping its other images, and reading
// small blobs back from a directory, a tar or any [Fetcher].
//
// go-containerregistry's layout package writes layouts too, but does not
// check a blob's digest as it is written; solver receives blobs from
// daemons and relays, and checks every one.
//
//	if err := ocilayout.WriteBlob(dir, desc, r); err != nil {
//		return fmt.Errorf("blob %s: %w", desc.Digest, err)
//	}
package ocilayout
