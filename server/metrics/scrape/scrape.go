// Package scrape reads a /metrics page in the Prometheus text format, with
// the exposition library's own parser (expfmt), and answers the questions
// tests, the benchmark harness and the deployment checks ask of it: which
// series names it holds and the value of one series.
package scrape

import (
	"fmt"
	"io"
	"maps"
	"math"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Page is a parsed /metrics page: its metric families by name. A family
// declared (# TYPE) without a sample is not in it, as the parser drops them.
type Page map[string]*dto.MetricFamily

// Parse reads a page in the Prometheus text format (version 0.0.4, which
// promhttp serves to a scraper that asks for no other), names in quotes
// included.
func Parse(r io.Reader) (Page, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("metrics page: %w", err)
	}
	return families, nil
}

// ParseString is Parse of a page held in a string.
func ParseString(body string) (Page, error) { return Parse(strings.NewReader(body)) }

// Names returns the name of every series of the page, as PromQL selects
// them: a counter's, gauge's or untyped family's own name, and for a
// histogram name_bucket, name_sum and name_count besides name, for a summary
// name_sum and name_count.
func (p Page) Names() map[string]bool {
	names := make(map[string]bool, len(p))
	for name, f := range p {
		names[name] = true
		for _, s := range suffixes(f.GetType()) {
			names[name+s] = true
		}
	}
	return names
}

// suffixes are the sample-name suffixes a family of type t exports beside
// (for a summary, under) its own name.
func suffixes(t dto.MetricType) []string {
	switch t {
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		return []string{"_bucket", "_sum", "_count"}
	case dto.MetricType_SUMMARY:
		return []string{"_sum", "_count"}
	}
	return nil
}

// Value returns the value of one series of the page, written as in the text
// format: name, or name{label="value",…} with the labels in any order. A
// histogram's or summary's _sum and _count, and a histogram's _bucket{le=…},
// are found too. It reports false when the page lacks the series, or when
// series is not one series in that syntax.
func (p Page) Value(series string) (float64, bool) {
	want, err := ParseString(series + " 0\n")
	if err != nil || len(want) != 1 {
		return 0, false
	}
	for name, f := range want {
		if len(f.GetMetric()) != 1 {
			return 0, false
		}
		return p.value(name, labelMap(f.GetMetric()[0]))
	}
	return 0, false
}

func (p Page) value(name string, labels map[string]string) (float64, bool) {
	if f, ok := p[name]; ok {
		for _, m := range f.GetMetric() {
			if !maps.Equal(labelMap(m), labels) {
				continue
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue(), true
			case dto.MetricType_GAUGE:
				return m.GetGauge().GetValue(), true
			case dto.MetricType_UNTYPED:
				return m.GetUntyped().GetValue(), true
			}
		}
	}
	for _, s := range []string{"_sum", "_count", "_bucket"} {
		base, ok := strings.CutSuffix(name, s)
		if f := p[base]; ok && f != nil {
			return aggregate(f, s, labels)
		}
	}
	return 0, false
}

// aggregate returns the _sum, _count or _bucket (suffix) sample of the
// histogram or summary f whose labels are labels (with le, for a bucket).
func aggregate(f *dto.MetricFamily, suffix string, labels map[string]string) (float64, bool) {
	le, isBucket := labels[model.BucketLabel]
	if suffix == "_bucket" {
		if !isBucket {
			return 0, false
		}
		labels = maps.Clone(labels)
		delete(labels, model.BucketLabel)
	}
	for _, m := range f.GetMetric() {
		if !maps.Equal(labelMap(m), labels) {
			continue
		}
		switch {
		case f.GetType() == dto.MetricType_SUMMARY && suffix == "_sum":
			return m.GetSummary().GetSampleSum(), true
		case f.GetType() == dto.MetricType_SUMMARY && suffix == "_count":
			return float64(m.GetSummary().GetSampleCount()), true
		case f.GetType() != dto.MetricType_HISTOGRAM && f.GetType() != dto.MetricType_GAUGE_HISTOGRAM:
		case suffix == "_sum":
			return m.GetHistogram().GetSampleSum(), true
		case suffix == "_count":
			return count(m.GetHistogram()), true
		default:
			return bucket(m.GetHistogram(), le)
		}
	}
	return 0, false
}

// bucket returns the cumulative count of h's bucket whose upper bound le
// names, as the text format writes it ("0.5", "+Inf").
func bucket(h *dto.Histogram, le string) (float64, bool) {
	bound, err := strconv.ParseFloat(le, 64)
	if err != nil {
		return 0, false
	}
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() == bound {
			return float64(b.GetCumulativeCount()) + b.GetCumulativeCountFloat(), true
		}
	}
	if math.IsInf(bound, 1) { // the parser keeps +Inf as the count only
		return count(h), true
	}
	return 0, false
}

// count is h's sample count, which the parser holds as an integer or, when
// any count on the page has a fraction, as a float.
func count(h *dto.Histogram) float64 {
	return float64(h.GetSampleCount()) + h.GetSampleCountFloat()
}

func labelMap(m *dto.Metric) map[string]string {
	l := make(map[string]string, len(m.GetLabel()))
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}
