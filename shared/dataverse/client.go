package dataverse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/cloudbackup-d365/cloudbackup/shared/tlsroots"
)

// DefaultAPIVersion is the Web API version the client addresses.
const DefaultAPIVersion = "v9.2"

// ClientOptions configure a Client. The zero value (or nil) gives defaults.
type ClientOptions struct {
	// Transport sends the requests. Default: a transport trusting the system
	// roots plus ExtraCA. Redirects are never followed whatever the transport.
	Transport http.RoundTripper
	// ExtraCA is PEM of an extra CA to trust (the local simulator); ignored
	// when Transport is set.
	ExtraCA []byte
	// APIVersion defaults to DefaultAPIVersion ("v9.2").
	APIVersion string
	// Scope is the token scope; default "<environment URL>/.default".
	Scope string
	// Timeout bounds one request (headers and body); default 2 minutes.
	// Streaming callers that read long bodies pass a context instead.
	Timeout time.Duration
	// UserAgent is sent on every request; default "cloudbackup-d365".
	UserAgent string
}

// Client calls the Dataverse Web API of one environment as one identity.
// It is safe for concurrent use. It does not retry: a *ThrottledError tells
// the caller how long to wait, and retry policy lives with the callers (the
// backup engine re-sends its message with a delay instead of sleeping).
type Client struct {
	envURL    *url.URL // scheme://host, no path
	apiBase   string   // envURL + /api/data/<version>/
	cred      azcore.TokenCredential
	scope     string
	http      *http.Client
	userAgent string
}

// NewClient returns a client for the environment at envURL (for example
// https://contoso.crm.dynamics.com), authenticating with cred. envURL must be
// an absolute https URL without query or fragment; a path other than "/" is
// refused. Host allow-listing (SSRF) is the caller's job: see CheckEnvironmentURL.
func NewClient(envURL string, cred azcore.TokenCredential, o *ClientOptions) (*Client, error) {
	if cred == nil {
		return nil, errors.New("dataverse: NewClient needs a credential")
	}
	u, err := url.Parse(strings.TrimSpace(envURL))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		(u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("dataverse: environment URL %q must be https://<host> without path, query or credentials", envURL)
	}
	u = &url.URL{Scheme: "https", Host: strings.ToLower(u.Host)}
	var opts ClientOptions
	if o != nil {
		opts = *o
	}
	if opts.APIVersion == "" {
		opts.APIVersion = DefaultAPIVersion
	}
	if opts.Scope == "" {
		opts.Scope = u.String() + "/.default"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "cloudbackup-d365"
	}
	rt := opts.Transport
	if rt == nil {
		t, err := tlsroots.Transport(opts.ExtraCA)
		if err != nil {
			return nil, fmt.Errorf("dataverse: %w", err)
		}
		rt = t
	}
	return &Client{
		envURL:    u,
		apiBase:   u.String() + "/api/data/" + opts.APIVersion + "/",
		cred:      cred,
		scope:     opts.Scope,
		http:      &http.Client{Transport: rt, Timeout: opts.Timeout, CheckRedirect: tlsroots.NoRedirects},
		userAgent: opts.UserAgent,
	}, nil
}

// EnvironmentURL is the environment's https://host, as given to NewClient.
func (c *Client) EnvironmentURL() string { return c.envURL.String() }

// APIURL returns the absolute Web API URL of path (relative to
// /api/data/<version>/, e.g. "accounts?$select=name").
func (c *Client) APIURL(path string) string { return c.apiBase + strings.TrimPrefix(path, "/") }

// newRequest builds a request for pathOrURL: a path relative to the Web API
// root, or an absolute URL on the environment's host (an @odata.nextLink or
// deltaLink, used unchanged).
func (c *Client) newRequest(ctx context.Context, method, pathOrURL string, body io.Reader) (*http.Request, error) {
	target := pathOrURL
	if !strings.HasPrefix(pathOrURL, "https://") && !strings.HasPrefix(pathOrURL, "http://") {
		target = c.APIURL(pathOrURL)
	}
	return http.NewRequestWithContext(ctx, method, target, body)
}

// do sends req as the client's identity and returns a 2xx response, whose body
// the caller must close. It is the one place requests leave the package:
// pages.go, write.go and the other files of the package build on it.
//
// do refuses a URL on another host than the environment's (a nextLink cannot
// lead elsewhere), acquires a token (azidentity caches it; a failure is an
// *AuthError), sets the OData headers (Accept, OData-MaxVersion, OData-Version,
// If-None-Match: null unless the caller set If-Match/If-None-Match, and
// Content-Type for bodies when unset), never follows redirects, and turns any
// non-2xx answer into an error through translate (*ThrottledError for 429,
// *ResponseError otherwise; a 401 notes whether the token sent had expired,
// for Classify). Headers the caller set (Prefer, Range, ...) are kept.
func (c *Client) do(ctx context.Context, req *http.Request) (*http.Response, error) {
	return c.doAccepting(ctx, req, nil)
}

// doAccepting is do for a caller that reads some non-2xx answers itself:
// those for which accept returns true come back as responses, not errors
// (a $batch that stopped at a failure answers its parts with the failure's
// status).
func (c *Client) doAccepting(ctx context.Context, req *http.Request, accept func(*http.Response) bool) (*http.Response, error) {
	if req.URL.Scheme != "https" || !strings.EqualFold(req.URL.Host, c.envURL.Host) {
		return nil, fmt.Errorf("dataverse: refusing request to %s://%s: not the environment's host %s", req.URL.Scheme, req.URL.Host, c.envURL.Host)
	}
	if ctx == nil {
		ctx = req.Context()
	}
	tok, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.scope}})
	if err != nil {
		return nil, &AuthError{Scope: c.scope, Err: err}
	}
	h := req.Header
	h.Set("Authorization", "Bearer "+tok.Token)
	if h.Get("Accept") == "" {
		h.Set("Accept", "application/json")
	}
	h.Set("OData-MaxVersion", "4.0")
	h.Set("OData-Version", "4.0")
	if h.Get("If-Match") == "" && h.Get("If-None-Match") == "" {
		h.Set("If-None-Match", "null")
	}
	if req.Body != nil && req.Body != http.NoBody && h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	h.Set("User-Agent", c.userAgent)
	resp, err := c.http.Do(req.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("dataverse: %s %s: %w", req.Method, redact(req.URL), scrubURLError(err))
	}
	if (resp.StatusCode < 200 || resp.StatusCode > 299) && (accept == nil || !accept(resp)) {
		defer resp.Body.Close()
		err := translate(req, resp)
		if re, ok := err.(*ResponseError); ok && re.StatusCode == http.StatusUnauthorized {
			re.TokenExpired = tokenExpired(tok.ExpiresOn, resp.Header, timeNow())
		}
		return nil, err
	}
	return resp, nil
}

// getJSON GETs path (relative or a same-host absolute URL) and decodes the
// JSON answer into out. hdr adds request headers (may be nil).
func (c *Client) getJSON(ctx context.Context, path string, hdr http.Header, out any) (http.Header, error) {
	req, err := c.newRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(io.LimitReader(resp.Body, maxJSONBody)).Decode(out); err != nil {
			return resp.Header, fmt.Errorf("dataverse: decode %s: %w", redact(req.URL), err)
		}
	}
	return resp.Header, nil
}

// maxJSONBody caps bodies decoded whole by getJSON (metadata answers are a few
// MB at most; record pages are streamed by the paging code instead).
const maxJSONBody = 64 << 20

// redact returns u without its query (skip and delta tokens are opaque and long).
func redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// scrubURLError drops the URL (with its query) from a *url.Error, keeping the cause.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
