package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/viper"
)

// EnvPrefix starts every environment override: SWITCHAROO_SOURCE_HOST
// overrides source.host.
const EnvPrefix = "SWITCHAROO"

// Load reads the YAML file at path, applies SWITCHAROO_* environment
// overrides, validates everything, and resolves the secrets the file names
// (password_env, password_file, ...). It contacts no server and starts
// nothing. Every problem found is reported in one *Error (exit code 2).
func Load(path string) (*Config, error) {
	v := viper.New()
	v.SetConfigFile(path)
	v.SetConfigType("yaml")
	for _, key := range envKeys() {
		if err := v.BindEnv(key, EnvName(key)); err != nil {
			return nil, fmt.Errorf("bind %s: %w", key, err)
		}
	}
	if err := v.ReadInConfig(); err != nil {
		return nil, &Error{File: path, Problems: []Problem{{Msg: readProblem(err)}}}
	}

	r := &report{fromEnv: overriddenBy}
	cfg := Defaults()
	(&decoder{r}).decode("", v.AllSettings(), reflect.ValueOf(&cfg).Elem())
	validate(&cfg, r)
	resolveSecrets(&cfg, r)
	if len(r.problems) > 0 {
		return nil, &Error{File: path, Problems: bySection(r.problems)}
	}
	return &cfg, nil
}

// EnvName is the environment variable that overrides a key.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// overriddenBy returns the variable that set key, or "" when the value came
// from the file (or the key cannot be set from the environment).
func overriddenBy(key string) string {
	if strings.Contains(key, "[") {
		return ""
	}
	name := EnvName(key)
	if _, ok := os.LookupEnv(name); ok {
		return name
	}
	return ""
}

// Keys lists every key of the schema, in file order. Keys inside lists of
// mappings are written with [], e.g. "dns.records[].name".
func Keys() []string { return keys(reflect.TypeFor[Config](), "") }

func keys(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if isResolved(f) {
			continue
		}
		key := join(prefix, keyOf(f))
		switch {
		case f.Type == durationType:
			out = append(out, key)
		case f.Type.Kind() == reflect.Struct:
			out = append(out, keys(f.Type, key)...)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			out = append(out, keys(f.Type.Elem(), key+"[]")...)
		default:
			out = append(out, key)
		}
	}
	return out
}

// envKeys lists the keys an environment variable can set: scalars and lists
// of scalars. Lists of mappings (records, actions) live only in the file.
func envKeys() []string {
	return slices.DeleteFunc(Keys(), func(k string) bool { return strings.Contains(k, "[]") })
}

func readProblem(err error) string {
	var notFound viper.ConfigFileNotFoundError
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.As(err, &notFound):
		return "file not found; pass --config FILE, or start from examples/switcharoo.yaml"
	case errors.Is(err, fs.ErrPermission):
		return "cannot read the file: permission denied"
	}
	var parse viper.ConfigParseError
	if errors.As(err, &parse) {
		msg := strings.TrimPrefix(parse.Unwrap().Error(), "yaml: ")
		msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
		return "not valid YAML: " + strings.ReplaceAll(msg, "\n  ", "; ")
	}
	return err.Error()
}

// bySection orders problems by the section they belong to, in the file's
// order (source, target, replication, ...), keeping the order within one.
func bySection(problems []Problem) []Problem {
	t := reflect.TypeFor[Config]()
	rank := func(p Problem) int {
		section, _, _ := strings.Cut(p.Key, ".")
		section, _, _ = strings.Cut(section, "[")
		for i := range t.NumField() {
			if keyOf(t.Field(i)) == section {
				return i
			}
		}
		return t.NumField()
	}
	slices.SortStableFunc(problems, func(a, b Problem) int { return rank(a) - rank(b) })
	return problems
}
