// Package api holds the Go side of the HTTP contract, generated from
// ../openapi.json: request and response types and the Fiber ServerInterface
// that httpapi's handlers implement. Edit the document, then run go generate.
package api

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../openapi.json
