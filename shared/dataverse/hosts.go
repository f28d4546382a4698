package dataverse

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// cloudHostSuffixes are the Dataverse host domains of the Microsoft clouds:
// commercial (crm, crm2 ... crmN), GCC (crm9, within commercial), GCC High
// (crm.microsoftdynamics.us), DoD (crm.appsplatform.us), China (crm.dynamics.cn).
var cloudHostSuffixes = []string{".dynamics.com", ".crm.microsoftdynamics.us", ".crm.appsplatform.us", ".crm.dynamics.cn"}

// ErrURLNotAllowed is wrapped by every CheckEnvironmentURL refusal.
var ErrURLNotAllowed = errors.New("environment URL not allowed")

// CheckEnvironmentURL validates an environment URL given by an admin or a
// discovery answer and returns it normalized as https://host[:port] (lower
// case, no path). It refuses, wrapping ErrURLNotAllowed with the reason:
// non-https schemes, credentials, query or fragment, paths other than "/",
// IP literals, localhost, link-local and metadata addresses (169.254.169.254), and any host outside the Dataverse
// cloud domains (<org>.crm[N].dynamics.com, <org>.crm.microsoftdynamics.us,
// <org>.crm.appsplatform.us, <org>.crm.dynamics.cn, default port only).
// extraHosts (DATAVERSE_ALLOWED_HOSTS, the local simulator) are allowed by an
// exact host or host:port match; even then a link-local or unspecified
// address is refused.
func CheckEnvironmentURL(raw string, extraHosts []string) (string, error) {
	refuse := func(format string, args ...any) (string, error) {
		return "", fmt.Errorf("%w: %s", ErrURLNotAllowed, fmt.Sprintf(format, args...))
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return refuse("empty")
	}
	if strings.ContainsAny(raw, " \t\r\n\\") {
		return refuse("contains whitespace or backslashes")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return refuse("not a URL")
	}
	if u.Scheme != "https" {
		return refuse("scheme %q: only https is allowed", u.Scheme)
	}
	if u.User != nil {
		return refuse("credentials in URLs are not allowed")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return refuse("query and fragment are not allowed; give https://<org>.crm.dynamics.com")
	}
	if u.Path != "" && u.Path != "/" {
		return refuse("path %q is not allowed; give the environment root, https://<org>.crm.dynamics.com", u.Path)
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	hostport := host
	if port != "" {
		hostport = net.JoinHostPort(host, port)
	}
	if host == "" {
		return refuse("no host")
	}
	ip, ipErr := netip.ParseAddr(strings.Trim(host, "[]"))
	if ipErr == nil && (ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() || ip.IsLinkLocalMulticast()) {
		return refuse("host %s is a link-local, metadata or unspecified address", host)
	}
	for _, h := range extraHosts {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" && (h == hostport || (port == "" && h == host+":443")) {
			return "https://" + hostport, nil
		}
	}
	if ipErr == nil {
		return refuse("IP address %s: give the environment's host name", host)
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || !strings.Contains(host, ".") {
		return refuse("host %s is local", host)
	}
	if port != "" && port != "443" {
		return refuse("port %s: Dataverse environments are served on 443", port)
	}
	if !isDataverseHost(host) {
		return refuse("host %s is not a Dataverse environment host (*.crm.dynamics.com, *.crmN.dynamics.com, *.crm.microsoftdynamics.us, *.crm.appsplatform.us, *.crm.dynamics.cn)", host)
	}
	return "https://" + host, nil
}

// isDataverseHost reports <org>.crm[N].<cloud domain> with a single org label.
func isDataverseHost(host string) bool {
	for _, suf := range cloudHostSuffixes {
		if !strings.HasSuffix(host, suf) {
			continue
		}
		rest := strings.TrimSuffix(host, suf) // "<org>.crmN" or "<org>"
		if suf == ".dynamics.com" {
			org, crm, ok := strings.Cut(rest, ".")
			if !ok || !validLabel(org) || !isCRMLabel(crm) {
				return false
			}
			return true
		}
		return validLabel(rest)
	}
	return false
}

// isCRMLabel matches "crm" and "crm2" ... "crm99".
func isCRMLabel(s string) bool {
	if !strings.HasPrefix(s, "crm") {
		return false
	}
	n := s[3:]
	if len(n) > 2 {
		return false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func validLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
