package config

import (
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"github.com/switcharoo/switcharoo/internal/secret"
)

// resolveSecrets reads every secret the config names, from an environment
// variable or a file. Problems name the variable or file, never the value.
func resolveSecrets(c *Config, r *report) {
	c.Source.Password = resolveSecret(r, "source.password", c.Source.PasswordEnv, c.Source.PasswordFile)
	c.Target.Password = resolveSecret(r, "target.password", c.Target.PasswordEnv, c.Target.PasswordFile)
	probe := &c.Checks.SQLProbe
	probe.Password = resolveSecret(r, "checks.sql_probe.password", probe.PasswordEnv, probe.PasswordFile)
	t := &c.DNS.RFC2136
	t.TSIGSecret = resolveSecret(r, "dns.rfc2136.tsig_secret", t.TSIGSecretEnv, t.TSIGSecretFile)
	if c.DNS.Provider == DNSRFC2136 {
		if t.TSIGSecretEnv == "" && t.TSIGSecretFile == "" {
			r.add("dns.rfc2136.tsig_secret_env", "required: the environment variable (or tsig_secret_file) holding the TSIG key's base64 secret")
		} else if _, err := base64.StdEncoding.DecodeString(t.TSIGSecret.Reveal()); t.TSIGSecret.IsSet() && err != nil {
			r.add("dns.rfc2136.tsig_secret_env", "the TSIG secret is not base64, as tsig-keygen prints it (the value is not shown)")
		}
	}
}

// envVarName is what a conventional environment variable name looks like.
var envVarName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

// resolveSecret reads the secret named by key+"_env" or key+"_file". Neither
// set means an empty secret (e.g. a password-less sandbox user).
func resolveSecret(r *report, key, envName, file string) secret.Value {
	switch {
	case envName != "" && file != "":
		r.add(key+"_env", "%s_env and %s_file are both set; keep one", key, key)
	case envName != "":
		v, ok := os.LookupEnv(envName)
		switch {
		case ok:
			return secret.New(v)
		case !envVarName.MatchString(envName):
			// Not echoed: someone may have written the secret itself here.
			r.add(key+"_env", "must be the name of an environment variable holding the secret (like SOURCE_MYSQL_PASSWORD), and no such variable is set; the value is not shown in case it is the secret itself")
		default:
			r.add(key+"_env", "environment variable %s is not set; export it, or use %s_file", envName, key)
		}
	case file != "":
		b, err := os.ReadFile(file)
		switch {
		case err != nil && !strings.ContainsAny(file, "/."):
			// Not echoed: someone may have written the secret itself here.
			r.add(key+"_file", "cannot read the file it names: %s; the value is not shown in case it is the secret itself (write paths with a / or a file extension)", fileReason(err))
			return secret.Value{}
		case err != nil:
			r.add(key+"_file", "cannot read %s: %s", file, fileReason(err))
			return secret.Value{}
		}
		v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if v == "" {
			r.add(key+"_file", "%s is empty", file)
		}
		return secret.New(v)
	}
	return secret.Value{}
}

// fileReason turns a file error into a short reason without repeating the
// path the message already names.
func fileReason(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
