package ui

import (
	"encoding/csv"
	"net/http"
	"strconv"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/integrations/azure"
	"github.com/atrium-portal/atrium/internal/web"
)

// costsExport serves GET /api/azure/costs: the FinOps report as JSON
// (default) or, with format=csv, as CSV with a column per month.
func costsExport(w http.ResponseWriter, r *http.Request, report CostReporter) {
	cq, err := costQueryOf(r)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		web.WriteError(w, r, fault.New(fault.Invalid, "format: %q is neither json nor csv", format))
		return
	}
	rep, err := report(r.Context(), cq)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	if format != "csv" {
		web.WriteJSON(w, http.StatusOK, rep)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="azure-costs-by-`+rep.GroupBy+`.csv"`)
	cw := csv.NewWriter(w)
	head := []string{"ref", "kind", "title"}
	for _, m := range rep.MonthLabels {
		head = append(head, m)
	}
	head = append(head, "thisMonth", "lastMonth", "changePercent", "currency")
	_ = cw.Write(head)
	line := func(ref, kind, title string, s azure.CostSeries) {
		rec := []string{ref, kind, title}
		for _, v := range s.Costs {
			rec = append(rec, strconv.FormatFloat(v, 'f', 2, 64))
		}
		change := ""
		if s.ChangePercent != nil {
			change = strconv.FormatFloat(*s.ChangePercent, 'f', 1, 64)
		}
		rec = append(rec, strconv.FormatFloat(s.ThisMonth, 'f', 2, 64), strconv.FormatFloat(s.LastMonth, 'f', 2, 64), change, rep.Currency)
		_ = cw.Write(rec)
	}
	for _, row := range rep.Rows {
		line(row.Ref, row.Kind, row.Title, row.CostSeries)
	}
	if cq.Team == "" && cq.System == "" {
		line("", "unattributed", "", rep.Unattributed)
	}
	line("", "total", "", rep.Total)
	cw.Flush()
}
