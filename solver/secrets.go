package solver

import (
	"errors"
	"fmt"
	"os"

	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
)

// Secret is a value a build step can mount (BuildKit's
// bk.AddSecret(path, bk.SecretID(id)), or bk.SecretAsEnvName) without
// it becoming part of the image, the cache key or the build's records: the
// daemon asks the client for it over the build's session when the step
// runs. Make one with SecretFile or SecretEnv.
type Secret struct {
	// ID is what graphs name it by (bk.SecretID).
	ID string
	// File is the client-side file holding it (SecretFile).
	File string
	// Env is the client-side environment variable holding it (SecretEnv).
	Env string
}

// SecretFile is the secret id, read from the file at path when a step
// mounts it.
func SecretFile(id, path string) Secret { return Secret{ID: id, File: path} }

// SecretEnv is the secret id, read from the client's environment variable
// name when a step mounts it.
func SecretEnv(id, name string) Secret { return Secret{ID: id, Env: name} }

// String names the secret and where it comes from, never its value.
func (s Secret) String() string {
	switch {
	case s.File != "":
		return fmt.Sprintf("secret %q (file %s)", s.ID, s.File)
	case s.Env != "":
		return fmt.Sprintf("secret %q (env %s)", s.ID, s.Env)
	}
	return fmt.Sprintf("secret %q", s.ID)
}

// Validate checks s before anything is built: an ID, exactly one source, a
// readable regular file no larger than BuildKit's limit (500 KiB) or a set
// environment variable. Errors name the secret and its source, never its
// value.
func (s Secret) Validate() error {
	if s.ID == "" {
		return fmt.Errorf("%s: empty ID: name it, e.g. solver.SecretFile(\"netrc\", path)", s)
	}
	if (s.File == "") == (s.Env == "") {
		return fmt.Errorf("%s: give a file or an environment variable, not both or neither (solver.SecretFile or solver.SecretEnv)", s)
	}
	if s.Env != "" {
		if _, ok := os.LookupEnv(s.Env); !ok {
			return fmt.Errorf("%s: the environment variable %s is not set", s, s.Env)
		}
		return nil
	}
	st, err := os.Stat(s.File)
	if err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: %s is not a regular file", s, s.File)
	}
	if st.Size() > secretsprovider.MaxSecretSize {
		return fmt.Errorf("%s: %d bytes, more than the %d BuildKit passes: put large files in the build context instead", s, st.Size(), secretsprovider.MaxSecretSize)
	}
	f, err := os.Open(s.File)
	if err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	return f.Close()
}

// WithSecrets makes secrets available to the build's steps by ID. It may
// be given more than once; an ID may be given once. Do not also attach a
// secrets provider of your own with WithSession: a session carries one.
func WithSecrets(secrets ...Secret) BuildOption {
	return func(o *buildOptions) error {
		for _, s := range secrets {
			if err := s.Validate(); err != nil {
				return err
			}
			for _, had := range o.secrets {
				if had.ID == s.ID {
					return fmt.Errorf("%s: ID %q given twice (also %s)", s, s.ID, had)
				}
			}
			o.secrets = append(o.secrets, s)
		}
		return nil
	}
}

// secretsAttachable serves secrets to the daemon over the session, read
// when a step asks (BuildKit's file and environment store); nil without
// secrets.
func secretsAttachable(secrets []Secret) (session.Attachable, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	src := make([]secretsprovider.Source, len(secrets))
	for i, s := range secrets {
		// Always File or Env: an empty pair would make the store guess
		// from the ID.
		src[i] = secretsprovider.Source{ID: s.ID, FilePath: s.File, Env: s.Env}
	}
	store, err := secretsprovider.NewStore(src)
	if err != nil {
		return nil, errors.New("secrets: " + err.Error())
	}
	return secretsprovider.NewSecretProvider(store), nil
}
