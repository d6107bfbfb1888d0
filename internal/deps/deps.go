// Package deps pins dependencies while the packages that use them are written.
package deps

import (
	_ "github.com/containerd/platforms"
	_ "github.com/google/go-containerregistry/pkg/v1/layout"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/google/go-containerregistry/pkg/v1/validate"
	_ "github.com/moby/buildkit/client"
	_ "github.com/moby/buildkit/client/connhelper/dockercontainer"
	_ "github.com/moby/buildkit/client/connhelper/kubepod"
	_ "github.com/moby/buildkit/client/connhelper/ssh"
	_ "github.com/moby/buildkit/client/llb"
	_ "github.com/moby/buildkit/exporter/containerimage/exptypes"
	_ "github.com/moby/buildkit/frontend/gateway/client"
	_ "github.com/moby/buildkit/session/auth/authprovider"
	_ "github.com/moby/buildkit/solver/pb"
	_ "github.com/moby/buildkit/util/progress/progressui"
	_ "github.com/opencontainers/image-spec/schema"
	_ "github.com/opencontainers/image-spec/specs-go/v1"
	_ "github.com/tonistiigi/fsutil"
	_ "golang.org/x/sync/errgroup"
)
