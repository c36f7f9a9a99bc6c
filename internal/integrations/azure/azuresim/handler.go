package azuresim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// maxRequestBytes bounds a request body the handler reads (an ARM
// template deployment is the largest).
const maxRequestBytes = 8 << 20

// Handler serves the simulated subscription over HTTP under prefix
// ("/sim/azure"): each request is handed to the same fake servers as
// Transport, and their answer is written back. So a real client whose
// Resource Manager endpoint is <atrium>/sim/azure, or curl, reaches the
// simulator like Azure. URLs the fake servers answer with (long-running
// operation status, next pages) are rewritten to carry the prefix.
//
// Like Resource Manager, the handler refuses a request without a bearer
// token (401 AuthenticationFailed); it does not check the token itself.
func (s *Sim) Handler(prefix string) http.Handler {
	prefix = "/" + strings.Trim(prefix, "/")
	if prefix == "/" {
		prefix = ""
	}
	t := s.Transport()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			writeResponse(w, jsonResponse(r, http.StatusUnauthorized, errorBody("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."), nil))
			return
		}
		path := r.URL.Path
		if prefix != "" {
			if !strings.HasPrefix(path, prefix+"/") {
				writeResponse(w, jsonResponse(r, http.StatusNotFound, errorBody("NotFound", "The simulated subscription is served under "+prefix+"/."), nil))
				return
			}
			path = strings.TrimPrefix(path, prefix)
		}
		var body []byte
		var err error
		if r.Body != nil { // nil in a client's request handed over in process
			body, err = io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
		}
		if err != nil {
			writeResponse(w, jsonResponse(r, http.StatusBadRequest, errorBody("InvalidRequestContent", "The request body could not be read."), nil))
			return
		}
		if len(body) > maxRequestBytes {
			writeResponse(w, jsonResponse(r, http.StatusRequestEntityTooLarge, errorBody("RequestEntityTooLarge", "The request body is larger than the simulator accepts."), nil))
			return
		}
		scheme := "http"
		if r.TLS != nil || r.URL.Scheme == "https" {
			scheme = "https"
		}
		host := r.Host
		if host == "" {
			host = r.URL.Host
		}
		base := scheme + "://" + host
		ctx := r.Context()
		if name := apiName(r.Method, path); name != "" {
			// The fake servers dispatch on the API name the SDK's client
			// puts in the context; over HTTP it is read from the route.
			ctx = context.WithValue(ctx, runtime.CtxAPINameKey{}, name)
		}
		req := r.Clone(ctx)
		req.RequestURI = ""
		req.URL.Scheme, req.URL.Host = scheme, host
		req.URL.Path, req.URL.RawPath = path, ""
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		if len(body) == 0 {
			req.Body = nil
		}
		res, err := t.Do(req)
		var re *azcore.ResponseError
		if errors.As(err, &re) {
			// The fake servers return their errors rather than answer
			// with them; on the wire they are ARM error bodies.
			code := re.ErrorCode
			if code == "" {
				code = http.StatusText(re.StatusCode)
			}
			writeResponse(w, jsonResponse(r, re.StatusCode, errorBody(code, "The simulated subscription answered "+code+"."), nil))
			return
		}
		if err != nil {
			writeResponse(w, jsonResponse(r, http.StatusInternalServerError, errorBody("InternalServerError", "The simulator failed: "+err.Error()), nil))
			return
		}
		defer res.Body.Close()
		out, err := io.ReadAll(res.Body)
		if err != nil {
			writeResponse(w, jsonResponse(r, http.StatusInternalServerError, errorBody("InternalServerError", "The simulator failed: "+err.Error()), nil))
			return
		}
		if prefix != "" {
			from, to := base+"/subscriptions/", base+prefix+"/subscriptions/"
			for _, h := range []string{"Location", "Azure-AsyncOperation", "Operation-Location"} {
				if v := res.Header.Get(h); v != "" {
					res.Header.Set(h, strings.Replace(v, from, to, 1))
				}
			}
			out = bytes.ReplaceAll(out, []byte(from), []byte(to))
		}
		for k, v := range res.Header {
			if strings.EqualFold(k, "Content-Length") {
				continue
			}
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		_, _ = w.Write(out)
	})
}

func writeResponse(w http.ResponseWriter, res *http.Response) {
	defer res.Body.Close()
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, res.Body)
}

// The routes of the operations the simulator serves, on lower-cased
// paths without the fake servers' page and status suffixes.
var (
	reGroups     = regexp.MustCompile(`^/subscriptions/[^/]+/resourcegroups$`)
	reGroup      = regexp.MustCompile(`^/subscriptions/[^/]+/resourcegroups/[^/]+$`)
	reResources  = regexp.MustCompile(`^/subscriptions/[^/]+/resourcegroups/[^/]+/resources$`)
	reDeployment = regexp.MustCompile(`^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.resources/deployments/[^/]+$`)
	reCancel     = regexp.MustCompile(`^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.resources/deployments/[^/]+/cancel$`)
	reWhatIf     = regexp.MustCompile(`^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.resources/deployments/[^/]+/whatif$`)
	reCostQuery  = regexp.MustCompile(`/providers/microsoft\.costmanagement/query$`)
	reFakeSuffix = regexp.MustCompile(`(/fake_page_\d+|/get/fake/status)$`)
)

// apiName is the SDK's name of the operation a request is ("" when the
// simulator does not serve it; the fake servers then answer 404-like
// errors).
func apiName(method, path string) string {
	p := reFakeSuffix.ReplaceAllString(strings.ToLower(strings.TrimSuffix(path, "/")), "")
	switch {
	case reCostQuery.MatchString(p) && method == http.MethodPost:
		return "QueryClient.Usage"
	case reGroups.MatchString(p) && method == http.MethodGet:
		return "ResourceGroupsClient.NewListPager"
	case reGroup.MatchString(p):
		switch method {
		case http.MethodGet:
			return "ResourceGroupsClient.Get"
		case http.MethodHead:
			return "ResourceGroupsClient.CheckExistence"
		case http.MethodPut:
			return "ResourceGroupsClient.CreateOrUpdate"
		}
	case reResources.MatchString(p) && method == http.MethodGet:
		return "Client.NewListByResourceGroupPager"
	case reDeployment.MatchString(p):
		switch method {
		case http.MethodGet:
			return "DeploymentsClient.Get"
		case http.MethodPut:
			return "DeploymentsClient.BeginCreateOrUpdate"
		}
	case reCancel.MatchString(p) && method == http.MethodPost:
		return "DeploymentsClient.Cancel"
	case reWhatIf.MatchString(p):
		return "DeploymentsClient.BeginWhatIf"
	}
	return ""
}
