// Package config loads, validates and prints switcharoo's configuration.
//
// Load is the only entry point. viper reads the YAML file and the
// SWITCHAROO_<PATH> environment overrides (source.host ←
// SWITCHAROO_SOURCE_HOST; a list from the environment is comma-separated).
// The merged tree is then decoded by this package's own small decoder
// rather than mapstructure, because the operator must see every problem at
// once, each naming its key path and what was expected:
//
//	config switcharoo.yaml has 2 problems:
//	  - source.port: must be 1..65535, got 70000
//	  - replication.stall_timeout: must be a duration such as 500ms, 30s or 1m30s, got "30"
//
// Unknown keys are errors (with a did-you-mean), so a typo never silently
// falls back to a default. Load contacts nothing and starts nothing.
//
// Secrets are never written in the file: password_env names an environment
// variable, password_file a file. Load resolves them into secret.Value
// fields, which print masked everywhere, including Config.YAML.
//
// Because viper folds map keys to lower case, no key holds user data (a
// database or variable name); such mappings are lists of pairs instead.
package config
