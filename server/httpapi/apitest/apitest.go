// Package apitest checks real HTTP responses against an OpenAPI 3 document, so that a test which
// drives every endpoint can also prove that each answer is the one the document promises.
//
// It wraps github.com/getkin/kin-openapi: openapi3 loads and validates the document,
// routers/gorillamux finds the operation a request path belongs to, and openapi3filter checks
// the status, the documented headers and the body against that operation's responses.
package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Errors a Check wraps, so that a caller can tell them apart with errors.Is.
var (
	ErrUnknownPath        = errors.New("path not in the OpenAPI document")
	ErrUnknownMethod      = errors.New("method not documented for this path")
	ErrUndocumentedStatus = errors.New("status not documented for this operation")
)

// A stream of server-sent events is checked as the text it is (its schema is a string); reading
// its events is the test's part.
func init() {
	openapi3filter.RegisterBodyDecoder("text/event-stream", func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(body)
		return string(b), err
	})
}

// bodyExcerpt is how much of a failing response's body an error quotes: enough to recognise it.
const bodyExcerpt = 300

// Validator checks responses against one OpenAPI document. It is read-only once New returns, so
// one Validator may Check from many goroutines.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
	ops    []string
}

// New loads spec (JSON or YAML), validates it as an OpenAPI document and returns a Validator
// for it. The document must be self-contained: references to other files or URLs are refused.
// Its servers are ignored: Check takes paths as the application routes them.
func New(spec []byte) (*Validator, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("apitest: loading the OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("apitest: the OpenAPI document is invalid: %w", err)
	}
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("apitest: routing the OpenAPI document's paths: %w", err)
	}
	var ops []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, method+" "+path)
		}
	}
	slices.Sort(ops)
	return &Validator{doc: doc, router: router, ops: ops}, nil
}

// Operations lists the document's operations as "METHOD /path", the path as the document
// writes it ("GET /status/{task_id}"), sorted.
func (v *Validator) Operations() []string {
	return slices.Clone(v.ops)
}

// Match returns the operation, as Operations writes it, that a request for method and path
// (which may carry a query) is routed to; its error is the one Check would give.
func (v *Validator) Match(method, path string) (string, error) {
	route, _, err := v.route(method, path)
	if err != nil {
		return "", err
	}
	return route.Method + " " + route.Path, nil
}

// Check reports whether a response with status, header and body is one the document allows
// for a request for method and path (which may carry a query): the path and method must be
// documented, the status must be documented for that operation (or covered by its default
// response), and the headers and the body must match what the document says of that status.
// A non-nil error is an *Error naming the request, the operation and what did not match.
// kin-openapi passes HEAD responses and 301, 304, 307 and 308 without looking at them.
func (v *Validator) Check(method, path string, status int, header http.Header, body []byte) error {
	route, params, err := v.route(method, path)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		return &Error{Method: route.Method, Path: path, Operation: route.Method + " " + route.Path, Status: status, Body: body, Err: err}
	}
	if header == nil {
		header = http.Header{}
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    &http.Request{Method: route.Method, Header: http.Header{}},
			PathParams: params,
			Route:      route,
		},
		Status: status,
		Header: header,
		Body:   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
			// One line per mismatch; Error quotes the body itself.
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
		},
	}
	err = openapi3filter.ValidateResponse(context.Background(), input)
	if err == nil {
		return nil
	}
	if re := (*openapi3filter.ResponseError)(nil); errors.As(err, &re) && re.Reason == "status is not supported" {
		return fail(fmt.Errorf("%w (documented: %s)", ErrUndocumentedStatus, strings.Join(documented(route.Operation), ", ")))
	}
	return fail(err)
}

// route finds the operation for method and path, or says why there is none.
func (v *Validator) route(method, path string) (*routers.Route, map[string]string, error) {
	method = strings.ToUpper(method)
	req, err := http.NewRequest(method, path, nil)
	if err != nil {
		return nil, nil, &Error{Method: method, Path: path, Err: fmt.Errorf("not a request path: %w", err)}
	}
	route, params, err := v.router.FindRoute(req)
	switch {
	case errors.Is(err, routers.ErrPathNotFound):
		return nil, nil, &Error{Method: method, Path: path, Err: ErrUnknownPath}
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return nil, nil, &Error{Method: method, Path: path, Err: ErrUnknownMethod}
	case err != nil:
		return nil, nil, &Error{Method: method, Path: path, Err: err}
	}
	return route, params, nil
}

// documented lists the response codes of op, sorted, "default" last.
func documented(op *openapi3.Operation) []string {
	var codes []string
	for code := range op.Responses.Map() {
		codes = append(codes, code)
	}
	slices.SortFunc(codes, func(a, b string) int {
		if (a == "default") != (b == "default") {
			if a == "default" {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	return codes
}

// Error is what Check and Match return: which request or response failed, and why.
type Error struct {
	Method    string // the request's method
	Path      string // the request's path, as given to Check
	Operation string // the document's "METHOD /path" it was routed to; empty when there is none
	Status    int    // the response's status; 0 when the request was not routed
	Body      []byte // the response's body, quoted (cut short) in the message
	Err       error  // what did not match: wraps one of the Err… values or kin-openapi's error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Method + " " + e.Path)
	if route := strings.TrimPrefix(e.Operation, e.Method+" "); route != "" && route != e.Path {
		b.WriteString(" (" + route + ")")
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, " %d", e.Status)
	}
	b.WriteString(": " + e.Err.Error())
	if e.Status != 0 && len(e.Body) > 0 {
		body := e.Body
		cut := ""
		if len(body) > bodyExcerpt {
			body, cut = body[:bodyExcerpt], "…"
		}
		fmt.Fprintf(&b, "; body: %s%s", strings.ToValidUTF8(string(body), ""), cut)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }
