package solver

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/cli/cli/config"
)

// explainPushError adds what to do to a registry output's failure that
// BuildKit reports as a bare HTTP status: 401 and 403 mean the credentials
// for that registry (from the Docker config file) are wrong, missing or not
// allowed to push. The credentials themselves are never part of the
// message. The status is matched in the message: BuildKit's exporter
// returns the registry's answer as text in a gRPC status with code Unknown,
// with no typed HTTP status behind it.
func explainPushError(err error, outs []Output) error {
	msg := err.Error()
	var status string
	switch {
	case strings.Contains(msg, "401 Unauthorized"):
		status = "401 Unauthorized"
	case strings.Contains(msg, "403 Forbidden"):
		status = "403 Forbidden"
	default:
		return err
	}
	for _, o := range outs {
		if o.Kind != KindRegistry {
			continue
		}
		named, perr := reference.ParseNormalizedNamed(o.Name)
		if perr != nil {
			continue
		}
		host := reference.Domain(named)
		if !strings.Contains(msg, host) {
			continue
		}
		return fmt.Errorf("%w\nthe registry %s answered %s: the credentials for %s in %s are wrong, missing, or may not push %s: log in again (docker login %s) or fix them",
			err, host, status, host, filepath.Join(config.Dir(), config.ConfigFileName), reference.Path(named), host)
	}
	return err
}
