// Package rulecheck checks deploy/prometheus/alerts.yml as promtool check
// rules does, with the Prometheus module's rule-file and PromQL parsers, and
// checks that every metric an alert or a dashboard panel selects, read from
// the parsed expression, is one the service exports.
//
// It is a module of its own: the Prometheus module requires newer versions
// of modules the service shares with it (gRPC, the Kubernetes API), which
// would raise the service's own versions if it required the Prometheus
// module. Its tests run with `make test-go` and `go -C deploy/deploytest/rulecheck test ./...`.
package rulecheck
