package buildflags

import (
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/crossllb/crossllb/internal/keyvalue"
	"github.com/crossllb/crossllb/solver"
)

// AcceptSecrets adds buildx's --secret flag to fs, for an example whose
// steps read build secrets; use says what the example does with them.
// Parse then fills Secrets.
func (c *Common) AcceptSecrets(fs *flag.FlagSet, use string) {
	fs.Var(&c.secrets, "secret", "build secret, repeatable: id=ID,src=PATH or id=ID,env=VAR (type=env,id=VAR reads $VAR); "+use)
}

// HasSecret reports whether --secret gave the secret id.
func (c *Common) HasSecret(id string) bool {
	return slices.ContainsFunc(c.Secrets, func(s solver.Secret) bool { return s.ID == id })
}

// ParseSecret parses one --secret value, in buildx's form (CSV-quoted, as
// solver.ParseOutput reads --output): id=ID with
// src=PATH (or source=PATH) for a file, env=VAR for an environment
// variable, and an optional type=file|env. type=env without env= reads the
// variable named by the ID; type=file without src= reads the file named
// by the ID. The secret is checked (solver.Secret.Validate): the file must
// be readable, the variable set.
func ParseSecret(v string) (solver.Secret, error) {
	var s solver.Secret
	typ := ""
	fields, err := keyvalue.Pairs(v)
	if err != nil {
		return s, fmt.Errorf("--secret %q: %w (want id=ID,src=PATH or id=ID,env=VAR)", v, err)
	}
	for _, f := range fields {
		k, val := f.Key, f.Value
		switch strings.ToLower(k) {
		case "id":
			s.ID = val
		case "src", "source":
			s.File = val
		case "env":
			s.Env = val
		case "type":
			if val != "file" && val != "env" {
				return s, fmt.Errorf("--secret %q: type=%q: want file or env", v, val)
			}
			typ = val
		default:
			return s, fmt.Errorf("--secret %q: unknown key %q (want id, src, env, type)", v, k)
		}
	}
	if s.ID == "" {
		return s, fmt.Errorf("--secret %q: no id=: name the secret the build's steps read", v)
	}
	switch typ {
	case "env":
		if s.File != "" {
			return s, fmt.Errorf("--secret %q: type=env with src=: give env=VAR, or type=file", v)
		}
		if s.Env == "" {
			s.Env = s.ID
		}
	case "file":
		if s.Env != "" {
			return s, fmt.Errorf("--secret %q: type=file with env=: give src=PATH, or type=env", v)
		}
		if s.File == "" {
			s.File = s.ID
		}
	}
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("--secret: %w", err)
	}
	return s, nil
}

// parseSecrets fills c.Secrets from the --secret values.
func (c *Common) parseSecrets() error {
	for _, v := range c.secrets {
		s, err := ParseSecret(v)
		if err != nil {
			return UsageError{err}
		}
		if c.HasSecret(s.ID) {
			return Usagef("--secret %q: id %q given twice", v, s.ID)
		}
		c.Secrets = append(c.Secrets, s)
	}
	return nil
}
