package scrape_test

import (
	"maps"
	"slices"
	"testing"

	"stockagent/server/metrics/scrape"
)

const page = `# HELP req_total Requests.
# TYPE req_total counter
req_total{code="200",route="/a"} 3
req_total{code="500",route="/a"} 1
# HELP lat_seconds Latency.
# TYPE lat_seconds histogram
lat_seconds_bucket{route="/a",le="0.1"} 1
lat_seconds_bucket{route="/a",le="+Inf"} 2
lat_seconds_sum{route="/a"} 0.3
lat_seconds_count{route="/a"} 2
# TYPE empty_seconds histogram
# TYPE gc_seconds summary
gc_seconds{quantile="0.5"} 0.001
gc_seconds_sum 0.25
gc_seconds_count 7
# TYPE up_gauge gauge
up_gauge 1
{"dotted.name", job="x"} 4
plain_no_labels 7 1700000000000
`

func parse(t *testing.T, body string) scrape.Page {
	t.Helper()
	p, err := scrape.ParseString(body)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNames(t *testing.T) {
	got := slices.Sorted(maps.Keys(parse(t, page).Names()))
	want := []string{
		"dotted.name", "gc_seconds", "gc_seconds_count", "gc_seconds_sum",
		"lat_seconds", "lat_seconds_bucket", "lat_seconds_count", "lat_seconds_sum",
		"plain_no_labels", "req_total", "up_gauge",
	}
	if !slices.Equal(got, want) { // empty_seconds has no sample, so no series
		t.Errorf("Names = %q, want %q", got, want)
	}
}

func TestValue(t *testing.T) {
	p := parse(t, page)
	cases := map[string]struct {
		series string
		want   float64
		found  bool
	}{
		"counter":                  {`req_total{code="500",route="/a"}`, 1, true},
		"labels in another order":  {`req_total{route="/a",code="200"}`, 3, true},
		"a label missing":          {`req_total{code="200"}`, 0, false},
		"a label too many":         {`req_total{code="200",route="/a",x="y"}`, 0, false},
		"another label value":      {`req_total{code="404",route="/a"}`, 0, false},
		"gauge":                    {`up_gauge`, 1, true},
		"untyped with a timestamp": {`plain_no_labels`, 7, true},
		"quoted name":              {`{"dotted.name",job="x"}`, 4, true},
		"histogram count":          {`lat_seconds_count{route="/a"}`, 2, true},
		"histogram sum":            {`lat_seconds_sum{route="/a"}`, 0.3, true},
		"histogram bucket":         {`lat_seconds_bucket{le="0.1",route="/a"}`, 1, true},
		"histogram +Inf bucket":    {`lat_seconds_bucket{le="+Inf",route="/a"}`, 2, true},
		"bucket not on the page":   {`lat_seconds_bucket{le="0.2",route="/a"}`, 0, false},
		"bucket without le":        {`lat_seconds_bucket{route="/a"}`, 0, false},
		"histogram by its name":    {`lat_seconds{route="/a"}`, 0, false},
		"summary sum":              {`gc_seconds_sum`, 0.25, true},
		"summary count":            {`gc_seconds_count`, 7, true},
		"absent":                   {`nothing_total`, 0, false},
		"not a series":             {`req_total{code=}`, 0, false},
		"two series":               {"up_gauge 1\nreq_total", 0, false},
		"empty":                    {``, 0, false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			v, ok := p.Value(c.series)
			if v != c.want || ok != c.found {
				t.Errorf("Value(%q) = %v, %v; want %v, %v", c.series, v, ok, c.want, c.found)
			}
		})
	}
}

func TestParseRefusesBrokenPages(t *testing.T) {
	for _, body := range []string{
		"req_total{code=\"200\" 3\n",                   // unclosed braces
		"# TYPE x counter\nx 1\n# TYPE x gauge\nx 2\n", // a family declared twice
		"req_total not-a-number\n",                     // no value
		"# TYPE h histogram\nh_bucket{le=\"x\"} 1\n",   // a bound that is no number
	} {
		if p, err := scrape.ParseString(body); err == nil {
			t.Errorf("ParseString(%q) = %v, no error", body, p)
		}
	}
}
