package apitest

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
)

// spec is a small OpenAPI 3.0 document with the shapes our real one uses: a path parameter, a
// $ref'd schema with required fields, a nullable field, two documented statuses.
const spec = `{
  "openapi": "3.0.3",
  "info": {"title": "apitest", "version": "1"},
  "paths": {
    "/predict-child": {
      "post": {
        "responses": {
          "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Prediction"}}}},
          "404": {"description": "no model", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/status/{task_id}": {
      "get": {
        "parameters": [{"name": "task_id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string", "enum": ["running", "done"]}}}}}}
        }
      }
    }
  },
  "components": {
    "schemas": {
      "Prediction": {
        "type": "object",
        "required": ["ticker", "result"],
        "properties": {
          "ticker": {"type": "string"},
          "result": {"type": "number", "exclusiveMinimum": true, "minimum": 0},
          "note": {"type": "string", "nullable": true}
        }
      },
      "Error": {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}}
    }
  }
}`

var jsonHeader = http.Header{"Content-Type": {"application/json; charset=utf-8"}}

func newValidator(t *testing.T) *Validator {
	t.Helper()
	v, err := New([]byte(spec))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

func TestCheckPasses(t *testing.T) {
	v := newValidator(t)
	for name, c := range map[string]struct {
		method, path string
		status       int
		body         string
	}{
		"body matches":       {"POST", "/predict-child", 200, `{"ticker": "AAPL", "result": 1.5, "note": null}`},
		"documented error":   {"POST", "/predict-child", 404, `{"detail": "no model for AAPL"}`},
		"path parameter":     {"GET", "/status/3f2a", 200, `{"status": "done"}`},
		"query is ignored":   {"GET", "/status/3f2a?verbose=1", 200, `{"status": "running"}`},
		"method in any case": {"get", "/status/3f2a", 200, `{"status": "running"}`},
	} {
		t.Run(name, func(t *testing.T) {
			if err := v.Check(c.method, c.path, c.status, jsonHeader, []byte(c.body)); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

func TestCheckFails(t *testing.T) {
	v := newValidator(t)
	for name, c := range map[string]struct {
		method, path string
		status       int
		header       http.Header
		body         string
		is           error    // wrapped by the error, when one of ours
		want         []string // in the message
	}{
		"wrong type": {
			"POST", "/predict-child", 200, jsonHeader, `{"ticker": "AAPL", "result": "high"}`, nil,
			[]string{"POST /predict-child 200:", "doesn't match schema", `"/result"`, "number"},
		},
		"missing required field": {
			"POST", "/predict-child", 200, jsonHeader, `{"ticker": "AAPL"}`, nil,
			[]string{"POST /predict-child 200:", `property "result" is missing`},
		},
		"exclusive minimum": {
			"POST", "/predict-child", 200, jsonHeader, `{"ticker": "AAPL", "result": 0}`, nil,
			[]string{"POST /predict-child 200:", `"/result"`},
		},
		"every mismatch at once": {
			"POST", "/predict-child", 200, jsonHeader, `{"result": "high"}`, nil,
			[]string{`property "ticker" is missing`, `"/result"`},
		},
		"enum": {
			"GET", "/status/3f2a", 200, jsonHeader, `{"status": "lost"}`, nil,
			[]string{"GET /status/3f2a (/status/{task_id}) 200:", `"/status"`},
		},
		"not JSON": {
			"POST", "/predict-child", 200, jsonHeader, `{"ticker": `, nil,
			[]string{"POST /predict-child 200:", "decode"},
		},
		"wrong content type": {
			"POST", "/predict-child", 200, http.Header{"Content-Type": {"text/plain"}}, `{"ticker": "AAPL", "result": 1}`, nil,
			[]string{"POST /predict-child 200:", "text/plain"},
		},
		"undocumented status": {
			"POST", "/predict-child", 500, jsonHeader, `{"detail": "boom"}`, ErrUndocumentedStatus,
			[]string{"POST /predict-child 500:", "status not documented", "documented: 200, 404", `body: {"detail": "boom"}`},
		},
		"unknown path": {
			"GET", "/nowhere", 200, jsonHeader, `{}`, ErrUnknownPath,
			[]string{"GET /nowhere:", "path not in the OpenAPI document"},
		},
		"unknown method": {
			"DELETE", "/predict-child", 200, jsonHeader, `{}`, ErrUnknownMethod,
			[]string{"DELETE /predict-child:", "method not documented"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := v.Check(c.method, c.path, c.status, c.header, []byte(c.body))
			if err == nil {
				t.Fatal("Check passed, want an error")
			}
			t.Log(err) // go test -v shows what a failing conformance test would print
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error %T is not an *apitest.Error", err)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error does not wrap %v: %v", c.is, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "\nSchema:") {
				t.Errorf("error dumps the schema:\n%v", err)
			}
		})
	}
}

func TestOperationsAndMatch(t *testing.T) {
	v := newValidator(t)
	want := []string{"GET /status/{task_id}", "POST /predict-child"}
	if got := v.Operations(); !slices.Equal(got, want) {
		t.Errorf("Operations() = %q, want %q", got, want)
	}
	if op, err := v.Match("GET", "/status/abc"); err != nil || op != "GET /status/{task_id}" {
		t.Errorf(`Match("GET", "/status/abc") = %q, %v; want "GET /status/{task_id}"`, op, err)
	}
	if _, err := v.Match("GET", "/nowhere"); !errors.Is(err, ErrUnknownPath) {
		t.Errorf(`Match("GET", "/nowhere") error = %v, want ErrUnknownPath`, err)
	}
}

func TestNewRejectsInvalidDocuments(t *testing.T) {
	for name, c := range map[string]struct{ doc, want string }{
		"not JSON":        {`{"openapi": `, "loading"},
		"no info":         {`{"openapi": "3.0.3", "paths": {}}`, "invalid"},
		"dangling $ref":   {strings.Replace(spec, "#/components/schemas/Error", "#/components/schemas/Missing", 1), "Missing"},
		"bad schema type": {strings.Replace(spec, `"type": "number"`, `"type": "decimal"`, 1), "invalid"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New([]byte(c.doc))
			if err == nil {
				t.Fatal("New accepted the document")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error does not say %q: %v", c.want, err)
			}
		})
	}
}

// TestServiceSpec loads the service's own document: it must be valid, or no response can be checked.
func TestServiceSpec(t *testing.T) {
	doc, err := os.ReadFile("../openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	v, err := New(doc)
	if err != nil {
		t.Fatalf("server/httpapi/openapi.json: %v", err)
	}
	if len(v.Operations()) == 0 {
		t.Fatal("server/httpapi/openapi.json documents no operations")
	}
	t.Logf("%d operations: %s", len(v.Operations()), strings.Join(v.Operations(), ", "))
}

// TestCheckConcurrent backs the promise that one Validator serves parallel tests (go test -race).
func TestCheckConcurrent(t *testing.T) {
	v := newValidator(t)
	errs := make(chan error, 8)
	for i := range cap(errs) {
		go func() {
			body := `{"ticker": "AAPL", "result": 2}`
			if i%2 == 1 {
				body = `{"ticker": "AAPL"}`
			}
			err := v.Check("POST", "/predict-child", 200, jsonHeader, []byte(body))
			if (err == nil) != (i%2 == 0) {
				err = fmt.Errorf("body %s: Check = %v", body, err)
			} else {
				err = nil
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
