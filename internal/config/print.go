package config

import (
	"bytes"
	"reflect"
	"strconv"

	"github.com/switcharoo/switcharoo/internal/secret"
	"go.yaml.in/yaml/v3"
)

var secretType = reflect.TypeFor[secret.Value]()

// YAML renders the effective configuration (defaults, file and environment
// merged) in the file's own key order. Every secret prints as a mask; an
// unset one is left out.
func (c *Config) YAML() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(node(reflect.ValueOf(c).Elem())); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func node(v reflect.Value) *yaml.Node {
	scalar := func(tag, value string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
	}
	switch {
	case v.Type() == secretType:
		return scalar("!!str", v.Interface().(secret.Value).String())
	case v.Type() == durationType:
		return scalar("!!str", v.Interface().(interface{ String() string }).String())
	case v.Kind() == reflect.Struct:
		m := &yaml.Node{Kind: yaml.MappingNode}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.Type == secretType && !v.Field(i).Interface().(secret.Value).IsSet() {
				continue
			}
			m.Content = append(m.Content, scalar("!!str", keyOf(f)), node(v.Field(i)))
		}
		return m
	case v.Kind() == reflect.Slice:
		s := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for i := range v.Len() {
			item := node(v.Index(i))
			if item.Kind != yaml.ScalarNode {
				s.Style = 0
			}
			s.Content = append(s.Content, item)
		}
		return s
	case v.Kind() == reflect.Bool:
		return scalar("!!bool", strconv.FormatBool(v.Bool()))
	case v.CanInt():
		return scalar("!!int", strconv.FormatInt(v.Int(), 10))
	case v.CanUint():
		return scalar("!!int", strconv.FormatUint(v.Uint(), 10))
	default:
		return scalar("!!str", v.String())
	}
}
