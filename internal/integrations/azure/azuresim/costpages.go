package azuresim

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/costmanagement/armcostmanagement/v3"
)

// DefaultCostPageSize is how many rows one page of a Cost Management
// answer holds, as Azure's default.
const DefaultCostPageSize = 1000

// maxCostAnswers bounds the answers kept for their next pages; when full
// the oldest links stop working (410), as expired skip tokens do.
const maxCostAnswers = 64

// costQuery answers a Cost Management query a page at a time, as Azure
// does: the first answer carries at most CostPageSize rows and a
// properties.nextLink, the same URL with a $skiptoken; the client POSTs
// the same query there for the next page.
func (s *Sim) costQuery(req *http.Request, fake policy.Transporter) (*http.Response, error) {
	if tok := req.URL.Query().Get("$skiptoken"); tok != "" {
		return s.costNextPage(req, tok)
	}
	resp, err := fake.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	s.mu.Lock()
	size := s.CostPageSize
	s.mu.Unlock()
	if size <= 0 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var res armcostmanagement.QueryResult
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, err
	}
	if res.Properties == nil || len(res.Properties.Rows) <= size {
		return jsonResponse(req, http.StatusOK, res, nil), nil
	}
	s.mu.Lock()
	if len(s.costAnswers) >= maxCostAnswers {
		clear(s.costAnswers)
	}
	s.costAnswerSeq++
	id := strconv.Itoa(s.costAnswerSeq)
	s.costAnswers[id] = res.Properties.Rows
	s.mu.Unlock()
	return jsonResponse(req, http.StatusOK, costPage(req, res, id, 0, size), nil), nil
}

// costNextPage answers the page a skip token ("answer-offset") points at.
func (s *Sim) costNextPage(req *http.Request, tok string) (*http.Response, error) {
	if req.Method != http.MethodPost || req.Body == nil {
		return jsonResponse(req, http.StatusBadRequest, errorBody("BadRequest", "A next page is asked for by POSTing the same query to the nextLink."), nil), nil
	}
	var def armcostmanagement.QueryDefinition
	if err := json.NewDecoder(req.Body).Decode(&def); err != nil || def.Dataset == nil {
		return jsonResponse(req, http.StatusBadRequest, errorBody("BadRequest", "The next page's request body is not the query."), nil), nil
	}
	id, off, ok := strings.Cut(tok, "-")
	offset, err := strconv.Atoi(off)
	s.mu.Lock()
	rows, known := s.costAnswers[id]
	size := s.CostPageSize
	s.mu.Unlock()
	if !ok || err != nil || !known || offset < 0 || offset > len(rows) || size <= 0 {
		return jsonResponse(req, http.StatusGone, errorBody("SkipTokenExpired", "The $skiptoken is unknown or expired; run the query again."), nil), nil
	}
	res := armcostmanagement.QueryResult{Properties: &armcostmanagement.QueryProperties{Rows: rows}}
	return jsonResponse(req, http.StatusOK, costPage(req, res, id, offset, size), nil), nil
}

// costPage is the page of res's rows from offset, with the nextLink of the
// page after when there is one.
func costPage(req *http.Request, res armcostmanagement.QueryResult, id string, offset, size int) armcostmanagement.QueryResult {
	rows := res.Properties.Rows
	end := min(offset+size, len(rows))
	page := armcostmanagement.QueryResult{Properties: &armcostmanagement.QueryProperties{Columns: res.Properties.Columns, Rows: rows[offset:end]}}
	if end < len(rows) {
		u := *req.URL
		q := u.Query()
		q.Set("$skiptoken", id+"-"+strconv.Itoa(end))
		u.RawQuery = q.Encode()
		page.Properties.NextLink = to.Ptr(u.String())
	}
	return page
}
