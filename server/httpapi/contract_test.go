package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"stockagent/server/ratelimit"
	"stockagent/server/store"
)

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// The document is valid OpenAPI, and every operation declares what the generated code, the
// guards and the web app's client read: an operationId, one known tag, its security, and
// error answers that are all the Error schema (429 and 503 with Retry-After).
func TestOpenAPIDocumentDeclaresEveryOperation(t *testing.T) {
	doc := loadSpec(t)
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not valid OpenAPI: %v", err)
	}
	var tags []string
	for _, tag := range doc.Tags {
		tags = append(tags, tag.Name)
	}
	camel := regexp.MustCompile(`^[a-z][a-zA-Z]*$`)
	errorSchema := doc.Components.Schemas["Error"]
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if !camel.MatchString(op.OperationID) {
				t.Errorf("%s: operationId %q is not camelCase", name, op.OperationID)
			}
			if other, dup := ids[op.OperationID]; dup {
				t.Errorf("%s and %s share the operationId %q", name, other, op.OperationID)
			}
			ids[op.OperationID] = name
			if len(op.Tags) != 1 || !slices.Contains(tags, op.Tags[0]) {
				t.Errorf("%s: tags %v, want one of %v", name, op.Tags, tags)
			}
			if op.Security == nil {
				t.Errorf("%s declares no security of its own", name)
			}
			for status, ref := range op.Responses.Map() {
				if status[0] != '4' && status[0] != '5' {
					continue
				}
				media := ref.Value.Content.Get("application/json")
				if media == nil || media.Schema.Value != errorSchema.Value {
					t.Errorf("%s: the %s answer is not the Error schema", name, status)
				}
				if (status == "429" || status == "503") && ref.Value.Headers["Retry-After"] == nil {
					t.Errorf("%s: the %s answer has no Retry-After", name, status)
				}
			}
		}
	}
}

// api.gen.go is what oapi-codegen makes of the document now. The generator runs in a temporary
// folder (the config names its output relative to the working folder), from the build go
// generate uses.
func TestGeneratedAPIIsCurrent(t *testing.T) {
	tool, err := exec.Command("go", "tool", "-n", "oapi-codegen").Output()
	if err != nil {
		t.Fatalf("go tool -n oapi-codegen: %v", err)
	}
	dir := t.TempDir()
	for _, name := range []string{"oapi-codegen.yaml", "../openapi.json"} {
		b, err := os.ReadFile(filepath.Join("api", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(name)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(strings.TrimSpace(string(tool)), "-config", "oapi-codegen.yaml", "openapi.json")
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oapi-codegen: %v\n%s", err, msg)
	}
	want, err := os.ReadFile(filepath.Join(dir, "api.gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("api/api.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("server/httpapi/api/api.gen.go is stale: run go generate ./server/httpapi/...")
	}
}

// Every role (x-role) and rate limit (x-rate-limit) an operation declares is applied to it:
// a caller holding only read is refused with the declared action named (HEAD too, for a
// GET), and a second call within a policy of one call an hour is a 429 naming the policy.
func TestOperationPoliciesAreApplied(t *testing.T) {
	ops, err := operations(spec)
	if err != nil {
		t.Fatal(err)
	}
	params := regexp.MustCompile(`:[a-z_]+`)
	var roles, limits int
	for _, op := range ops {
		path := params.ReplaceAllString(op.Path, "AAPL")
		if op.Role > RoleRead {
			roles++
			app, _, _ := newTestApp(t, func(d *Deps) { d.APIKeys = []string{"reader:read"} })
			status, body, _ := request(t, app, op.Method, path, "", map[string]string{"X-API-Key": "reader"})
			want := fmt.Sprintf("%s needs the %s role", op.Action, op.Role)
			if detail, _ := body["detail"].(string); status != 403 || !strings.Contains(detail, want) {
				t.Errorf("%s %s by a reader: %d %v, want 403 %q", op.Method, path, status, body, want)
			}
			if op.Method == http.MethodGet {
				if status, _, _ := request(t, app, "HEAD", path, "", map[string]string{"X-API-Key": "reader"}); status != 403 {
					t.Errorf("HEAD %s by a reader: %d, want 403", path, status)
				}
			}
		}
		if op.RateLimit != "" {
			limits++
			policy, _ := ratelimit.ParsePolicy(op.RateLimit, "1/hour")
			l, err := ratelimit.New(store.NewMemory(), ratelimit.Config{Enabled: true, Policies: []ratelimit.Policy{policy}})
			if err != nil {
				t.Fatal(err)
			}
			app, _, _ := newTestApp(t, func(d *Deps) { d.Limiter = l })
			request(t, app, op.Method, path, `{"ticker":"AAPL"}`, nil)
			status, body, _ := request(t, app, op.Method, path, `{"ticker":"AAPL"}`, nil)
			if detail, _ := body["detail"].(string); status != 429 || !strings.Contains(detail, op.RateLimit+" requests") {
				t.Errorf("%s %s past the %s policy: %d %v", op.Method, path, op.RateLimit, status, body)
			}
		}
	}
	if roles == 0 || limits == 0 {
		t.Fatalf("the document declares %d roles and %d rate limits: the policies were not read", roles, limits)
	}
}

// docs/api.md's endpoint table is the document's operations: what the page says a caller
// needs is what the guards apply.
func TestAPIPageListsEveryOperation(t *testing.T) {
	page, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	ops, err := operations(spec)
	if err != nil {
		t.Fatal(err)
	}
	doc := loadSpec(t)
	var want strings.Builder
	want.WriteString("| tag | operationId | method and path | role | rate limit |\n|---|---|---|---|---|\n")
	params := regexp.MustCompile(`:([a-z_]+)`)
	for _, op := range ops {
		path := params.ReplaceAllString(op.Path, "{$1}")
		role, limit := op.Role.String(), "—"
		if op.Public {
			role = "public"
		}
		if op.RateLimit != "" {
			limit = op.RateLimit
		}
		fmt.Fprintf(&want, "| %s | `%s` | `%s %s` | %s | %s |\n", doc.Paths.Find(path).GetOperation(op.Method).Tags[0],
			op.ID, op.Method, path, role, limit)
	}
	if !strings.Contains(string(page), want.String()) {
		t.Fatalf("docs/api.md's endpoint table is not the document's operations; it should read:\n\n%s", want.String())
	}
}

// Bodies decode into the generated types with the statuses and details the hand-written ones
// gave: a required field absent or null, a value of the wrong JSON type named by its kind,
// and the parent's training refusing the child's fields with a reason.
func TestBodiesKeepTheirDetails(t *testing.T) {
	app, _, _ := newTestApp(t)
	for name, tc := range map[string]struct {
		method, path, body string
		status             int
		detail             string
	}{
		"ticker absent":          {"POST", "/predict-child", `{}`, 400, `missing field "ticker"`},
		"ticker null":            {"POST", "/analyze", `{"ticker":null}`, 400, `missing field "ticker"`},
		"ticker empty":           {"POST", "/predict-child", `{"ticker":""}`, 400, "empty"},
		"enum of the wrong type": {"POST", "/train-child", `{"ticker":"AAPL","strategy":5}`, 422, `field "strategy" must be string`},
		"number of wrong type":   {"POST", "/train-child", `{"ticker":"AAPL","learning_rate":"x"}`, 422, `field "learning_rate" must be float64`},
		"date not a date":        {"POST", "/train-child", `{"ticker":"AAPL","start_date":"2020-13-01"}`, 422, "start_date must be a date"},
		"unknown field":          {"POST", "/train-child", `{"ticker":"AAPL","epoch":1}`, 422, `unknown field "epoch"`},
		"parent with a ticker":   {"POST", "/train-parent", `{"ticker":"AAPL"}`, 422, "takes no ticker"},
		"parent with a strategy": {"POST", "/train-parent", `{"strategy":"freeze"}`, 422, "strategy applies to child models only"},
		"tickers absent":         {"POST", "/predict-batch", `{}`, 422, `missing field "tickers"`},
		"tickers empty":          {"POST", "/predict-batch", `{"tickers":[]}`, 422, "tickers is empty"},
		"limit not a number":     {"GET", "/models/AAPL/runs?limit=abc", "", 422, "from 1 to 500"},
	} {
		t.Run(name, func(t *testing.T) {
			status, body, _ := request(t, app, tc.method, tc.path, tc.body, nil)
			if detail, _ := body["detail"].(string); status != tc.status || !strings.Contains(detail, tc.detail) {
				t.Errorf("%s %s %s: %d %v, want %d %q", tc.method, tc.path, tc.body, status, body, tc.status, tc.detail)
			}
		})
	}
}
