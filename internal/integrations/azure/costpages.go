package azure

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/costmanagement/armcostmanagement/v3"
)

// MaxCostPages bounds how many pages of one Cost Management answer are
// read: a subscription whose answer needs more is reported, not silently
// truncated.
const MaxCostPages = 100

// usage runs a Cost Management query at scope and reads every page of its
// answer. Cost Management answers at most a page of rows and a
// properties.nextLink; the next page is the same query POSTed to that
// link. The link must point at the configured endpoint, so the
// subscription's token is never sent elsewhere.
func (c *Client) usage(ctx context.Context, scope string, def armcostmanagement.QueryDefinition) (armcostmanagement.QueryResult, error) {
	res, err := c.query.Usage(ctx, scope, def, nil)
	if err != nil {
		return armcostmanagement.QueryResult{}, err
	}
	out := res.QueryResult
	seen := map[string]bool{}
	for pages := 1; out.Properties != nil && out.Properties.NextLink != nil && *out.Properties.NextLink != ""; pages++ {
		next := *out.Properties.NextLink
		if pages >= MaxCostPages {
			return armcostmanagement.QueryResult{}, fmt.Errorf("the answer has more than %d pages; narrow the query (fewer months or groupings)", MaxCostPages)
		}
		if seen[next] {
			return armcostmanagement.QueryResult{}, fmt.Errorf("page %d's nextLink repeats an earlier page's (%s)", pages, next)
		}
		seen[next] = true
		page, err := c.costPage(ctx, next, def)
		if err != nil {
			return armcostmanagement.QueryResult{}, fmt.Errorf("page %d: %w", pages+1, err)
		}
		if page.Properties == nil {
			break
		}
		if len(page.Properties.Columns) != 0 && len(page.Properties.Columns) != len(out.Properties.Columns) {
			return armcostmanagement.QueryResult{}, fmt.Errorf("page %d has %d columns, the first page %d", pages+1, len(page.Properties.Columns), len(out.Properties.Columns))
		}
		out.Properties.Rows = append(out.Properties.Rows, page.Properties.Rows...)
		out.Properties.NextLink = page.Properties.NextLink
	}
	return out, nil
}

// costPage POSTs def to a nextLink through the clients' pipeline (the same
// credential, retries and circuit breaker).
func (c *Client) costPage(ctx context.Context, next string, def armcostmanagement.QueryDefinition) (armcostmanagement.QueryResult, error) {
	u, err := url.Parse(next)
	if err != nil {
		return armcostmanagement.QueryResult{}, fmt.Errorf("nextLink %q is not a URL", next)
	}
	ep, err := url.Parse(c.pages.Endpoint())
	if err != nil || !strings.EqualFold(u.Scheme, ep.Scheme) || !strings.EqualFold(u.Host, ep.Host) {
		return armcostmanagement.QueryResult{}, fmt.Errorf("nextLink %s is not on the endpoint %s; refusing to send the subscription's token there", u.Redacted(), c.pages.Endpoint())
	}
	req, err := runtime.NewRequest(ctx, http.MethodPost, next)
	if err != nil {
		return armcostmanagement.QueryResult{}, err
	}
	req.Raw().Header["Accept"] = []string{"application/json"}
	if err := runtime.MarshalAsJSON(req, def); err != nil {
		return armcostmanagement.QueryResult{}, err
	}
	resp, err := c.pages.Pipeline().Do(req)
	if err != nil {
		return armcostmanagement.QueryResult{}, err
	}
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return armcostmanagement.QueryResult{}, runtime.NewResponseError(resp)
	}
	var page armcostmanagement.QueryResult
	if err := runtime.UnmarshalAsJSON(resp, &page); err != nil {
		return armcostmanagement.QueryResult{}, err
	}
	return page, nil
}
