package main

import (
	"bytes"
	"fmt"
	"html"
	"math"
)

// Chart geometry, in pixels.
const (
	svgWidth   = 980
	svgLabelW  = 250 // the row labels' column
	svgPlotW   = 600
	svgRowH    = 20
	svgTop     = 60 // title and legend
	svgBottom  = 40 // axis labels
	svgBarH    = 12
	svgPlotX0  = svgLabelW + 10
	svgPlotX1  = svgPlotX0 + svgPlotW
	svgFontCSS = "font-family:sans-serif;font-size:12px"
)

var backendColors = map[string]string{
	"embedded": "#1f77b4", "worker": "#ff7f0e", "subprocess": "#d62728", "gpython": "#2ca02c", "server": "#9467bd",
}

// latencySVG draws each result as a bar to its p50 and a line on to its
// p99, on a logarithmic time axis: the back-ends differ by up to six orders
// of magnitude.
func latencySVG(results []Result) []byte {
	lo, hi := math.Inf(1), 0.0
	for _, r := range results {
		if r.P50 > 0 {
			lo, hi = math.Min(lo, r.P50), math.Max(hi, math.Max(r.P50, r.P99))
		}
	}
	if hi == 0 { // nothing measured: an empty axis
		lo, hi = 0.001, 1
	}
	dLo, dHi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if dHi == dLo {
		dHi++
	}
	x := func(v float64) float64 {
		return svgPlotX0 + (math.Log10(v)-dLo)/(dHi-dLo)*svgPlotW
	}
	height := svgTop + len(results)*svgRowH + svgBottom

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" style="%s">`+"\n",
		svgWidth, height, svgWidth, height, svgFontCSS)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="15" font-weight="bold">Latency per call: bar to p50, line on to p99 (log scale)</text>`+"\n")
	lx := 10
	for _, name := range []string{"embedded", "worker", "subprocess", "gpython", "server"} {
		fmt.Fprintf(&b, `<rect x="%d" y="32" width="12" height="12" fill="%s"/><text x="%d" y="42">%s</text>`+"\n", lx, backendColors[name], lx+16, name)
		lx += 110
	}
	axisY := svgTop + len(results)*svgRowH
	for d := dLo; d <= dHi; d++ {
		gx := x(math.Pow(10, d))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", gx, svgTop-4, gx, axisY)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", gx, axisY+16, decadeLabel(d))
	}
	for i, r := range results {
		y := svgTop + i*svgRowH
		label := fmt.Sprintf("%s · %s", r.Workload, r.Backend)
		if r.Backend == "server" {
			label = fmt.Sprintf("%s c=%d", r.Workload, r.Concurrency)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", svgLabelW, y+svgBarH, html.EscapeString(label))
		if r.P50 <= 0 {
			continue
		}
		color := backendColors[r.Backend]
		end := x(r.P50)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", svgPlotX0, y+2, math.Max(end-svgPlotX0, 1), svgBarH, color)
		p99 := x(math.Max(r.P99, r.P50))
		mid := y + 2 + svgBarH/2
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", end, mid, p99, mid, color)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", p99, y+3, p99, y+1+svgBarH, color)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n", p99+6, y+svgBarH, html.EscapeString(fmtMS(r.P50)))
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// decadeLabel names the time 10^d milliseconds: 1 µs, 10 µs, … 1 s, 10 s.
func decadeLabel(d float64) string {
	units := []struct {
		name string
		exp  float64 // of the unit, in milliseconds
	}{{"s", 3}, {"ms", 0}, {"µs", -3}, {"ns", -6}}
	for _, u := range units {
		if d >= u.exp {
			return fmt.Sprintf("%.0f %s", math.Pow(10, d-u.exp), u.name)
		}
	}
	return fmt.Sprintf("1e%.0f ms", d)
}
