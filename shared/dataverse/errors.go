package dataverse

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ResponseError is a non-2xx answer of the Web API other than 429.
// Code is Dataverse's error code (e.g. "0x80040217"), or "Redirect" for a 3xx
// (redirects are never followed), or empty when the body had none.
type ResponseError struct {
	StatusCode int
	Code       string
	Message    string
	// Method and URL (without query) of the request, for messages.
	Method string
	URL    string
}

func (e *ResponseError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	if e.Code != "" {
		return fmt.Sprintf("dataverse: %s %s: %d %s: %s", e.Method, e.URL, e.StatusCode, e.Code, msg)
	}
	return fmt.Sprintf("dataverse: %s %s: %d: %s", e.Method, e.URL, e.StatusCode, msg)
}

// ThrottledError is a 429 answer (service protection limits). RetryAfter is
// the server's Retry-After (DefaultRetryAfter when absent or unreadable).
type ThrottledError struct {
	RetryAfter time.Duration
	Code       string
	Message    string
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("dataverse: throttled (%s), retry after %s: %s", e.Code, e.RetryAfter, e.Message)
}

// DefaultRetryAfter is used when a 429 carries no usable Retry-After.
const DefaultRetryAfter = 5 * time.Second

// AuthError is a failure to acquire a token for the environment; Err is the
// credential's error (an *azidentity.AuthenticationFailedError for Entra
// answers), which shared/identity explains for people.
type AuthError struct {
	Scope string
	Err   error
}

func (e *AuthError) Error() string {
	return "dataverse: acquire token for " + e.Scope + ": " + e.Err.Error()
}
func (e *AuthError) Unwrap() error { return e.Err }

// Dataverse error codes the package and its callers decide on.
const (
	CodeObjectNotFound           = "0x80040217" // record or entity does not exist
	CodeUserNotInEnvironment     = "0x80072560" // the caller is not a member of the organization
	CodeUserDisabled             = "0x80040225" // the caller's user record is disabled
	CodeOrganizationDisabled     = "0x80072557" // the environment is disabled
	CodeMissingPrivilege         = "0x80042f09" // principal user is missing a privilege
	CodeCheckPrivilegeFailed     = "0x80040220" // SecLib::CheckPrivilege failed
	CodeChangeTrackingExpired    = "0x80044352" // version stamp expired, do a full sync
	CodeChangeTrackingNotEnabled = "0x80044353" // the table does not track changes
	CodeUnsupportedOperation     = "0x80040800" // e.g. RetrieveMultiple refused for the table
)

// HasStatus reports whether err is a *ResponseError with one of the statuses.
func HasStatus(err error, statuses ...int) bool {
	var re *ResponseError
	if !errors.As(err, &re) {
		return false
	}
	for _, s := range statuses {
		if re.StatusCode == s {
			return true
		}
	}
	return false
}

// HasCode reports whether err is a *ResponseError with one of the codes.
func HasCode(err error, codes ...string) bool {
	var re *ResponseError
	if !errors.As(err, &re) {
		return false
	}
	for _, c := range codes {
		if strings.EqualFold(re.Code, c) {
			return true
		}
	}
	return false
}

// IsNotFound reports a 404 answer.
func IsNotFound(err error) bool { return HasStatus(err, http.StatusNotFound) }

// IsThrottled reports a 429 answer and its Retry-After.
func IsThrottled(err error) (time.Duration, bool) {
	var te *ThrottledError
	if errors.As(err, &te) {
		return te.RetryAfter, true
	}
	return 0, false
}

// translate turns a non-2xx response into the package's typed errors. It is
// the only place HTTP answers become errors. It reads at most 64 KB of body.
func translate(req *http.Request, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	code, msg := parseErrorBody(body)
	if resp.StatusCode == http.StatusTooManyRequests {
		return &ThrottledError{RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now()), Code: code, Message: msg}
	}
	re := &ResponseError{StatusCode: resp.StatusCode, Code: code, Message: msg, Method: req.Method, URL: redact(req.URL)}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		re.Code = "Redirect"
		loc := resp.Header.Get("Location")
		if i := strings.IndexByte(loc, '?'); i >= 0 {
			loc = loc[:i]
		}
		re.Message = "redirect to " + strconv.Quote(loc) + " refused (redirects are never followed)"
	}
	if re.Message == "" && len(body) > 0 && !json.Valid(body) {
		s := strings.TrimSpace(string(body))
		if len(s) > 200 {
			s = s[:200]
		}
		re.Message = s
	}
	return re
}

// parseErrorBody reads {"error":{"code":..,"message":..}} (Web API and OData).
func parseErrorBody(body []byte) (code, msg string) {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil {
		return e.Error.Code, e.Error.Message
	}
	return "", ""
}

// retryAfter parses Retry-After (seconds or an HTTP date).
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return DefaultRetryAfter
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
		return 0
	}
	return DefaultRetryAfter
}
