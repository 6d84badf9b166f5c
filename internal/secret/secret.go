// Package secret holds passwords, TSIG keys and other credentials so that
// they cannot leak by accident.
//
// A Value prints as a fixed mask through every path a value commonly takes
// out of a process: fmt verbs (including %#v), JSON, YAML, text marshalling
// and zerolog. The only way to the clear text is Reveal, which callers use at
// the last moment, when handing the secret to a driver or signer.
package secret

import (
	"fmt"
)

// Mask is what a set secret prints as. An empty secret prints as "".
const Mask = "********"

// Value is a secret string. The zero Value is the empty secret.
type Value struct {
	clear string
}

// New wraps a clear-text secret.
func New(clear string) Value { return Value{clear: clear} }

// Reveal returns the clear text. Call it only to hand the secret to the
// component that needs it, never to log or print it.
func (v Value) Reveal() string { return v.clear }

// IsSet reports whether the secret is non-empty.
func (v Value) IsSet() bool { return v.clear != "" }

// String returns the mask, or "" for an empty secret.
func (v Value) String() string {
	if v.clear == "" {
		return ""
	}
	return Mask
}

// GoString keeps %#v from printing the clear text.
func (v Value) GoString() string { return fmt.Sprintf("secret.Value(%q)", v.String()) }

// Format applies String to every fmt verb.
func (v Value) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(v.GoString()))
		return
	}
	_, _ = f.Write([]byte(v.String()))
}

// MarshalText masks the value in JSON, YAML and any text encoding.
func (v Value) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// MarshalYAML masks the value for YAML encoders that do not use MarshalText.
func (v Value) MarshalYAML() (any, error) { return v.String(), nil }
