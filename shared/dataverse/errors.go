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

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/cloudbackup-d365/cloudbackup/shared/retry"
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
	// TokenExpired is set on a 401 when the access token sent had expired:
	// by the token's own expiry (our clock) or by the server's challenge
	// (WWW-Authenticate or x-ms-diagnostics naming an expired token).
	TokenExpired bool
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

	// Service protection limits (docs: dataverse-reference.md section 6;
	// powerapps-docs developer/data-platform/api-limits.md). The Web API
	// answers them with 429, but they are throttles whatever the status.
	CodeRequestsLimit      = "0x80072322" // requests per 5-minute window
	CodeExecutionTimeLimit = "0x80072321" // combined execution time per window
	CodeConcurrencyLimit   = "0x80072326" // concurrent requests
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

// IsThrottled reports a throttle and how long to wait: a 429 with its
// Retry-After, or another answer carrying a service protection code (with
// DefaultRetryAfter).
func IsThrottled(err error) (time.Duration, bool) {
	var te *ThrottledError
	if errors.As(err, &te) {
		return te.RetryAfter, true
	}
	if HasCode(err, serviceProtectionCodes...) {
		return DefaultRetryAfter, true
	}
	return 0, false
}

// serviceProtectionCodes are the limit codes, in hex and in the decimal
// form the Organization service reports.
var serviceProtectionCodes = []string{CodeRequestsLimit, CodeExecutionTimeLimit, CodeConcurrencyLimit,
	"-2147015902", "-2147015903", "-2147015898"}

// IsChangeTrackingExpired reports the "Version stamp associated with the
// client has expired" answer to a delta read: the caller must read the table
// in full again.
func IsChangeTrackingExpired(err error) bool {
	if HasCode(err, CodeChangeTrackingExpired) {
		return true
	}
	var re *ResponseError
	return errors.As(err, &re) && strings.Contains(re.Message, "Version stamp associated with the client has expired")
}

// IsRetrieveMultipleRefused reports the answer of a table that cannot be
// listed ("The 'RetrieveMultiple' method does not support entities of type").
func IsRetrieveMultipleRefused(err error) bool {
	var re *ResponseError
	if !errors.As(err, &re) {
		return false
	}
	return strings.Contains(re.Message, "'RetrieveMultiple' method does not support")
}

// Class is what a failed Dataverse call means for whoever would try it
// again. Classify is the one place that decides it; the engines' retry
// policies, re-queue decisions and failure reports build on it.
type Class uint8

const (
	// ClassNone: no error.
	ClassNone Class = iota
	// ClassPermanent: trying again cannot help (4xx answers other than the
	// ones below, a refused redirect, an expired change-tracking token, an
	// identity Entra refuses, ErrNoFile). The item fails with the answer.
	ClassPermanent
	// ClassTransient: the same call may succeed later: 5xx and 408 answers,
	// connection resets and timeouts, truncated or undecodable bodies, token
	// acquisition that did not get an answer from Entra, the caller's
	// context ending (the work is not done, not refused), and any error
	// without an HTTP answer.
	ClassTransient
	// ClassThrottled: service protection limits (429, or a limit code);
	// wait the Retry-After that IsThrottled returns.
	ClassThrottled
	// ClassTokenExpired: a 401 for an access token that had expired; a new
	// token (the credential refreshes it) makes the call worth retrying.
	ClassTokenExpired
	// ClassReadRefused: the table or the identity's privileges refuse the
	// request (RetrieveMultiple not supported for the table, 403 or a
	// missing privilege): retrying cannot help; skip or report it.
	ClassReadRefused
)

var classNames = [...]string{"none", "permanent", "transient", "throttled", "token expired", "read refused"}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// Retryable reports the classes a retry may cure: transient, throttled
// and token expired.
func (c Class) Retryable() bool {
	return c == ClassTransient || c == ClassThrottled || c == ClassTokenExpired
}

// Classify says what err means for a retry. See Class for the cases.
func Classify(err error) Class {
	if err == nil {
		return ClassNone
	}
	if errors.Is(err, ErrNoFile) {
		return ClassPermanent // an answer, not a failure: the column is empty
	}
	if _, ok := IsThrottled(err); ok {
		return ClassThrottled
	}
	var re *ResponseError
	if errors.As(err, &re) {
		return classifyResponse(re)
	}
	var ae *AuthError
	if errors.As(err, &ae) {
		// Entra answered 4xx (invalid_client, an expired secret, consent
		// missing): the identity is refused until someone fixes it. No answer,
		// or 5xx/408/429: the token service may come back.
		var afe *azidentity.AuthenticationFailedError
		if errors.As(ae.Err, &afe) && afe.RawResponse != nil {
			s := afe.RawResponse.StatusCode
			if s >= 400 && s < 500 && s != http.StatusRequestTimeout && s != http.StatusTooManyRequests {
				return ClassPermanent
			}
		}
		return ClassTransient
	}
	return ClassTransient
}

func classifyResponse(re *ResponseError) Class {
	switch {
	case re.StatusCode == http.StatusUnauthorized && re.TokenExpired:
		return ClassTokenExpired
	case IsChangeTrackingExpired(re):
		return ClassPermanent
	case IsRetrieveMultipleRefused(re):
		return ClassReadRefused
	case HasCode(re, CodeUserNotInEnvironment, CodeUserDisabled, CodeOrganizationDisabled):
		// Refusals of the whole environment, not of one table.
		return ClassPermanent
	case re.StatusCode == http.StatusForbidden || HasCode(re, CodeMissingPrivilege, CodeCheckPrivilegeFailed):
		return ClassReadRefused
	case re.StatusCode >= 500 || re.StatusCode == http.StatusRequestTimeout:
		return ClassTransient
	}
	return ClassPermanent
}

// Decide is the retry.Policy Decide of Dataverse calls: throttles wait their
// Retry-After, transient failures and expired tokens back off, the rest are
// final. A caller that re-queues throttled work rather than waiting sets
// the policy's MaxAfter below zero (Do then returns the throttle at once,
// counted in its Stats).
func Decide(err error) retry.Decision {
	switch Classify(err) {
	case ClassThrottled:
		ra, _ := IsThrottled(err)
		return retry.Decision{Retry: true, After: ra, Throttled: true}
	case ClassTransient, ClassTokenExpired:
		return retry.Decision{Retry: true}
	}
	return retry.Decision{}
}

// tokenExpired tells an expired-token 401 from other refusals: the token
// sent had expired by its own expiry, or the challenge says so.
func tokenExpired(expiresOn time.Time, h http.Header, now time.Time) bool {
	if !expiresOn.IsZero() && !now.Before(expiresOn) {
		return true
	}
	for _, k := range []string{"WWW-Authenticate", "x-ms-diagnostics"} {
		if strings.Contains(strings.ToLower(h.Get(k)), "expired") {
			return true
		}
	}
	return false
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
