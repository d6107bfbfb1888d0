package main

import (
	"encoding/xml"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
)

type svgRect struct {
	class, contender, phase string
	panel                   int
	width                   float64
}

// parseSVG checks that svg is well-formed XML with an <svg> root and
// returns its rects, numbered by panel.
func parseSVG(t *testing.T, svg string) []svgRect {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	var rects []svgRect
	panel, depth := -1, 0
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				root = e.Name.Local
			}
			attr := map[string]string{}
			for _, a := range e.Attr {
				attr[a.Name.Local] = a.Value
			}
			if e.Name.Local == "g" && attr["class"] == "panel" {
				panel++
			}
			if e.Name.Local == "rect" && attr["class"] != "" {
				w, err := strconv.ParseFloat(attr["width"], 64)
				if err != nil {
					t.Fatalf("rect width %q: %v", attr["width"], err)
				}
				rects = append(rects, svgRect{attr["class"], attr["data-contender"], attr["data-phase"], panel, w})
			}
		case xml.EndElement:
			depth--
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	return rects
}

func TestChartSVG(t *testing.T) {
	three := []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}
	r := &report{Date: "2026-12-03T12:00:00Z", Rows: []row{
		{Workload: "crane <Go> & co", Scenario: scenarioCold, Targets: three, Contender: crossllb, Runs: 1, Median: 40,
			Phases: &phases{Seconds: map[string]float64{phaseStartup: 2, phasePull: 8, phaseCompile: 30}}},
		{Workload: "crane <Go> & co", Scenario: scenarioCold, Targets: three, Contender: dockerfile, Runs: 1, Median: 60, Ratio: 1.5,
			Phases: &phases{Seconds: map[string]float64{phaseCompile: 50, phaseExport: 10}}},
		{Workload: "crane <Go> & co", Scenario: scenarioCold, Targets: three, Contender: ko, Runs: 1, Median: 30, Ratio: 0.75},
		{Workload: "crane <Go> & co", Scenario: scenarioOneFile, Targets: three, Contender: crossllb, Runs: 1, Median: 5},
		{Workload: "crane <Go> & co", Scenario: scenarioOneFile, Targets: three, Contender: dockerfile, Runs: 1, Median: 100, Ratio: 20},
		// No crossllb to compare with: no panel.
		{Workload: "rust", Scenario: scenarioCold, Targets: three, Contender: ko, Runs: 1, Median: 1},
	}}
	svg := chartSVG(r)
	rects := parseSVG(t, svg)
	ratio := map[[2]string]float64{}
	phase := map[string]float64{}
	panels := map[int]bool{}
	for _, rc := range rects {
		panels[rc.panel] = true
		switch rc.class {
		case "ratio":
			ratio[[2]string{strconv.Itoa(rc.panel), rc.contender}] = rc.width
		case "phase":
			if rc.panel == 0 {
				phase[rc.contender+"/"+rc.phase] = rc.width
			}
		}
	}
	if len(panels) != 2 {
		t.Errorf("%d panels, want 2 (the one without crossllb is left out)", len(panels))
	}
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 0.02 {
			t.Errorf("%s: %.2f, want %.2f", what, got, want)
		}
	}
	cl := ratio[[2]string{"0", crossllb}]
	if cl <= 0 {
		t.Fatalf("no crossllb bar in the first panel: %v", ratio)
	}
	near("dockerfile bar over crossllb's", ratio[[2]string{"0", dockerfile}]/cl, 1.5)
	near("ko bar over crossllb's", ratio[[2]string{"0", ko}]/cl, 0.75)
	// The widest bar of a panel fills the plot; 20x fits.
	near("one-file change, dockerfile over crossllb", ratio[[2]string{"1", dockerfile}]/ratio[[2]string{"1", crossllb}], 20)
	if w := ratio[[2]string{"1", dockerfile}]; w > chartWidth {
		t.Errorf("a 20x bar is %.0f wide, wider than the chart", w)
	}
	// Phases stack on crossllb's scale: seconds over crossllb's 40 s.
	near("crossllb compile", phase[crossllb+"/"+phaseCompile], 30.0/40*cl)
	near("dockerfile export", phase[dockerfile+"/"+phaseExport], 10.0/40*cl)
	near("crossllb phases add up to its bar", phase[crossllb+"/"+phaseStartup]+phase[crossllb+"/"+phasePull]+phase[crossllb+"/"+phaseCompile], cl)
	if _, ok := phase[ko+"/"+phaseCompile]; ok {
		t.Error("ko has a phase bar but no progress")
	}
	if !strings.Contains(svg, "crane &lt;Go&gt; &amp; co") {
		t.Error("titles are not escaped")
	}
	if chartSVG(&report{}) != "" {
		t.Error("an empty report draws a chart")
	}
}
