package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestGeneratedCodeIsCurrent(t *testing.T) {
	doc, err := os.ReadFile("../contract.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Generate(doc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../pyapi.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("server/pyapi/pyapi.gen.go is stale: run go generate ./server/pyapi")
	}
}

func TestGenerateRefusesWhatItCannotType(t *testing.T) {
	cases := map[string]struct{ doc, want string }{
		"unknown schema keyword": {`{"types": {"A": {"type": "object", "patternProperties": {}}}}`, "unknown field"},
		"inline object":          {`{"types": {"A": {"type": "object", "properties": {"b": {"type": "object", "properties": {"c": {"type": "string"}}}}}}}`, "declare it as a model"},
		"union":                  {`{"types": {"A": {"type": "object", "properties": {"b": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}}}}`, "anyOf"},
		"unknown lane":           {`{"entries": [{"name": "f", "function": "m:f", "lane": "fast"}]}`, "unknown lane"},
		"missing type":           {`{"entries": [{"name": "f", "function": "m:f", "lane": "long", "request": "Nope"}]}`, "no type Nope"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Generate([]byte(c.doc)); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got %v", c.want, err)
			}
		})
	}
}

func TestGoNames(t *testing.T) {
	for in, want := range map[string]string{"run_id": "RunID", "use_fmi": "UseFMI", "llm_status": "LLMStatus", "predict_batch": "PredictBatch", "noop": "Noop"} {
		if got := camel(in); got != want {
			t.Errorf("camel(%q) = %q, want %q", in, got, want)
		}
	}
}
