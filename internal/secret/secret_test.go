package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"go.yaml.in/yaml/v3"
)

func TestValueNeverPrintsClearText(t *testing.T) {
	const clear = "hunter2-Zq9"
	v := New(clear)
	type holder struct {
		Password Value `json:"password" yaml:"password"`
		Ptr      *Value
	}
	h := holder{Password: v, Ptr: &v}

	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%10s"} {
		outputs = append(outputs, fmt.Sprintf(verb, v), fmt.Sprintf(verb, h))
	}
	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	log := zerolog.New(&logged)
	log.Info().Interface("h", h).Any("v", v).Stringer("s", v).Msg("x")
	outputs = append(outputs, string(j), string(y), logged.String())

	for _, out := range outputs {
		if strings.Contains(out, clear) || strings.Contains(out, fmt.Sprintf("%x", clear)) {
			t.Errorf("clear text leaked: %s", out)
		}
	}
	if !strings.Contains(string(j), Mask) {
		t.Errorf("JSON does not show the mask: %s", j)
	}
	if v.Reveal() != clear {
		t.Errorf("Reveal() = %q, want %q", v.Reveal(), clear)
	}
}

func TestEmptyValuePrintsEmpty(t *testing.T) {
	var v Value
	if v.IsSet() || v.String() != "" {
		t.Errorf("empty secret: IsSet=%v String=%q", v.IsSet(), v.String())
	}
}
