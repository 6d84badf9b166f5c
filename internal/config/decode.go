package config

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// decoder copies the generic tree viper produces (maps, lists, scalars) into
// the typed Config, collecting a Problem for every key it cannot take instead
// of stopping at the first. Problems name the key path, and the environment
// variable when the value came from one.
type decoder struct {
	*report
}

var durationType = reflect.TypeFor[time.Duration]()

func (d *decoder) decode(key string, raw any, dst reflect.Value) {
	if raw == nil { // "key:" with no value keeps the default
		return
	}
	switch {
	case dst.Type() == durationType:
		d.duration(key, raw, dst)
	case dst.Kind() == reflect.Struct:
		d.structure(key, raw, dst)
	case dst.Kind() == reflect.Slice:
		d.list(key, raw, dst)
	case dst.Kind() == reflect.String:
		s, ok := raw.(string)
		if !ok {
			d.add(key, "must be a string, got %s", describe(raw))
			return
		}
		dst.SetString(s)
	case dst.Kind() == reflect.Bool:
		d.boolean(key, raw, dst)
	case dst.CanInt() || dst.CanUint():
		d.integer(key, raw, dst)
	default:
		panic(fmt.Sprintf("config: no decoder for %s at %s", dst.Type(), key))
	}
}

func (d *decoder) structure(key string, raw any, dst reflect.Value) {
	m, ok := raw.(map[string]any)
	if !ok {
		d.add(key, "must be a mapping of keys, got %s", describe(raw))
		return
	}
	t := dst.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if isResolved(f) {
			continue
		}
		if v, ok := m[keyOf(f)]; ok {
			d.decode(join(key, keyOf(f)), v, dst.Field(i))
		}
	}
	fields := keyFields(t)
	var unknown []string
	for name := range m {
		if _, ok := fields[name]; !ok {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	for _, name := range unknown {
		d.add(join(key, name), "unknown key%s", suggest(name, fields))
	}
}

func (d *decoder) list(key string, raw any, dst reflect.Value) {
	items, ok := raw.([]any)
	if s, isString := raw.(string); isString && d.fromEnv(key) != "" && dst.Type().Elem().Kind() == reflect.String {
		// An environment variable gives a list as comma-separated values.
		items = nil
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				items = append(items, part)
			}
		}
		ok = true
	}
	if !ok {
		d.add(key, "must be a list, got %s", describe(raw))
		return
	}
	out := reflect.MakeSlice(dst.Type(), len(items), len(items))
	for i, item := range items {
		d.decode(fmt.Sprintf("%s[%d]", key, i), item, out.Index(i))
	}
	dst.Set(out)
}

func (d *decoder) duration(key string, raw any, dst reflect.Value) {
	s, ok := raw.(string)
	v, err := time.ParseDuration(s)
	if !ok || err != nil {
		d.add(key, "must be a duration such as 500ms, 30s or 1m30s, got %s", describe(raw))
		return
	}
	if v < 0 {
		d.add(key, "must not be negative, got %s", s)
		return
	}
	dst.SetInt(int64(v))
}

func (d *decoder) boolean(key string, raw any, dst reflect.Value) {
	switch v := raw.(type) {
	case bool:
		dst.SetBool(v)
		return
	case string:
		if b, err := strconv.ParseBool(v); err == nil && d.fromEnv(key) != "" {
			dst.SetBool(b)
			return
		}
	}
	d.add(key, "must be true or false, got %s", describe(raw))
}

func (d *decoder) integer(key string, raw any, dst reflect.Value) {
	var n int64
	switch v := raw.(type) {
	case int:
		n = int64(v)
	case int64:
		n = v
	case uint64:
		if v > math.MaxInt64 {
			d.add(key, "must be an integer no larger than %d, got %d", math.MaxInt64, v)
			return
		}
		n = int64(v)
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			d.add(key, "must be an integer, got %s", describe(raw))
			return
		}
		n = int64(v)
	case string:
		var err error
		if n, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil {
			d.add(key, "must be an integer, got %s", describe(raw))
			return
		}
	default:
		d.add(key, "must be an integer, got %s", describe(raw))
		return
	}
	switch {
	case dst.CanUint():
		limit := uint64(1)<<dst.Type().Bits() - 1
		if n < 0 || uint64(n) > limit {
			d.add(key, "must be an integer 0..%d, got %d", limit, n)
			return
		}
		dst.SetUint(uint64(n))
	default:
		if dst.OverflowInt(n) {
			d.add(key, "must be an integer that fits in %d bits, got %d", dst.Type().Bits(), n)
			return
		}
		dst.SetInt(n)
	}
}

// keyFields maps each key of a config struct to its field index. Fields
// tagged resolved:"true" are filled by Load, never read from the file.
func keyFields(t reflect.Type) map[string]int {
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !isResolved(f) {
			fields[keyOf(f)] = i
		}
	}
	return fields
}

func isResolved(f reflect.StructField) bool { return f.Tag.Get("resolved") == "true" }

func keyOf(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "" {
		panic("config: field " + f.Name + " has no yaml tag")
	}
	return name
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// describe renders a raw value the way the user wrote it.
func describe(raw any) string {
	switch v := raw.(type) {
	case string:
		return strconv.Quote(v)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	default:
		return fmt.Sprint(v)
	}
}

// suggest names the closest known key when the unknown one looks like a typo.
func suggest(name string, fields map[string]int) string {
	best, bestDist := "", 3
	for known := range fields {
		if dist := editDistance(name, known); dist < bestDist || (dist == bestDist && known < best) {
			best, bestDist = known, dist
		}
	}
	if best == "" {
		known := make([]string, 0, len(fields))
		for k := range fields {
			known = append(known, k)
		}
		slices.Sort(known)
		return "; known keys here: " + strings.Join(known, ", ")
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
