package main

// latest.svg: the report as a picture, drawn here with no plotting
// library. One panel per workload, scenario and targets; in it, per
// contender, a bar whose length is its ratio to crossllb (crossllb's is 1,
// marked by a dashed line), and under it, for the contenders with BuildKit
// progress, the same time as a stack of phases (phases.go) on the same
// scale: a phase's length is its seconds over crossllb's median time.

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
)

// Layout, in SVG user units (pixels).
const (
	chartWidth   = 960
	chartLabelW  = 190 // contender names, left of the bars
	chartRightW  = 170 // the ratio and seconds, right of the bars
	chartBarH    = 14
	chartPhaseH  = 9
	chartRowGap  = 6
	chartTitleH  = 24
	chartPanelGp = 14
	chartLegendH = 44
)

// phaseColors: one per phase, told apart in print and by most colour-blind
// readers (Okabe-Ito, then greys).
var phaseColors = map[string]string{
	phaseStartup:   "#000000",
	phaseContext:   "#e69f00",
	phaseResolve:   "#56b4e9",
	phasePull:      "#009e73",
	phaseDeps:      "#f0e442",
	phaseToolchain: "#0072b2",
	phaseCompile:   "#d55e00",
	phaseRuntime:   "#cc79a7",
	phaseExport:    "#8c6d31",
	phasePush:      "#7f7f7f",
	phaseOther:     "#bdbdbd",
	phaseIdle:      "#f2f2f2",
	phaseFinish:    "#525252",
}

const crossllbColor, contenderColor = "#1b9e77", "#7570b3"

// chartPanel is one table line of buildTable: its rows in contender order.
type chartPanel struct {
	title string
	rows  []row
	base  float64 // crossllb's median seconds; 0 if crossllb has none
}

func chartPanels(rows []row) []chartPanel {
	var panels []chartPanel
	for _, rw := range rows {
		title := fmt.Sprintf("%s, %s, %s", rw.Workload, rw.Scenario, shortTargets(rw.Targets))
		i := slices.IndexFunc(panels, func(p chartPanel) bool { return p.title == title })
		if i < 0 {
			panels = append(panels, chartPanel{title: title})
			i = len(panels) - 1
		}
		if rw.Runs > 0 {
			panels[i].rows = append(panels[i].rows, rw)
		}
	}
	for i := range panels {
		p := &panels[i]
		slices.SortStableFunc(p.rows, func(a, b row) int {
			return slices.Index(contenderOrder, a.Contender) - slices.Index(contenderOrder, b.Contender)
		})
		for _, rw := range p.rows {
			if rw.Contender == crossllb {
				p.base = rw.Median
			}
		}
	}
	return slices.DeleteFunc(panels, func(p chartPanel) bool { return p.base == 0 || len(p.rows) == 0 })
}

// ratioOf is a row's ratio to crossllb (1 for crossllb itself; the ratio of
// medians when the per-round ratio is missing).
func ratioOf(rw row, base float64) float64 {
	switch {
	case rw.Contender == crossllb:
		return 1
	case rw.Ratio > 0:
		return rw.Ratio
	}
	return rw.Median / base
}

func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// chartSVG draws the report; "" if no panel has crossllb to compare with.
func chartSVG(r *report) string {
	panels := chartPanels(r.Rows)
	if len(panels) == 0 {
		return ""
	}
	plotW := float64(chartWidth - chartLabelW - chartRightW)
	var body strings.Builder
	y := chartTitleH + chartLegendH
	for _, p := range panels {
		maxRatio := 1.0
		for _, rw := range p.rows {
			maxRatio = max(maxRatio, ratioOf(rw, p.base), rw.Median/p.base)
		}
		unit := plotW / maxRatio // width of crossllb's bar, ratio 1
		fmt.Fprintf(&body, `<g class="panel"><text x="4" y="%d" font-weight="bold">%s</text>`+"\n", y+14, esc(p.title))
		top := y + 20
		y = top
		for _, rw := range p.rows {
			ratio := ratioOf(rw, p.base)
			color := contenderColor
			if rw.Contender == crossllb {
				color = crossllbColor
			}
			at := ""
			if rw.AtLeast {
				at = "≥ "
			}
			fmt.Fprintf(&body, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", chartLabelW-6, y+chartBarH-3, esc(rw.Contender))
			fmt.Fprintf(&body, `<rect class="ratio" data-contender="%s" data-ratio="%.4f" x="%d" y="%d" width="%.2f" height="%d" fill="%s"/>`+"\n",
				esc(rw.Contender), ratio, chartLabelW, y, ratio*unit, chartBarH, color)
			fmt.Fprintf(&body, `<text x="%.2f" y="%d">%s%.2fx, %s</text>`+"\n", float64(chartLabelW)+ratio*unit+4, y+chartBarH-3, at, ratio, esc(formatSeconds(rw.Median)))
			y += chartBarH + 2
			if rw.Phases != nil {
				x := float64(chartLabelW)
				for _, ph := range reportPhases {
					s := rw.Phases.Seconds[ph]
					if s <= 0 {
						continue
					}
					w := s / p.base * unit
					fmt.Fprintf(&body, `<rect class="phase" data-contender="%s" data-phase="%s" x="%.2f" y="%d" width="%.2f" height="%d" fill="%s"><title>%s: %s %s</title></rect>`+"\n",
						esc(rw.Contender), ph, x, y, w, chartPhaseH, phaseColors[ph], esc(rw.Contender), ph, esc(formatSeconds(s)))
					x += w
				}
				y += chartPhaseH
			}
			y += chartRowGap
		}
		// crossllb's time, ratio 1.
		fmt.Fprintf(&body, `<line x1="%.2f" y1="%d" x2="%.2f" y2="%d" stroke="#333" stroke-dasharray="3,3"/>`+"\n", float64(chartLabelW)+unit, top-2, float64(chartLabelW)+unit, y-chartRowGap+2)
		body.WriteString("</g>\n")
		y += chartPanelGp
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", chartWidth, y, chartWidth, y)
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", chartWidth, y)
	fmt.Fprintf(&b, `<text x="4" y="16" font-size="13" font-weight="bold">%s</text>`+"\n",
		esc(fmt.Sprintf("crossllb benchmark, %s: each contender's time over crossllb's (bar; dashed line = crossllb), and where it went (thin bar)", r.Date)))
	x := 4
	for _, ph := range reportPhases {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s" stroke="#999" stroke-width="0.5"/><text x="%d" y="%d">%s</text>`+"\n", x, chartTitleH+4, phaseColors[ph], x+13, chartTitleH+13, ph)
		x += 13 + 7*len(ph) + 14
	}
	b.WriteString(body.String())
	b.WriteString("</svg>\n")
	return b.String()
}
