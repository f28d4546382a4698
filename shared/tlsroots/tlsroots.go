package tlsroots

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"time"
)

// Transport returns a new *http.Transport trusting the system roots and the
// PEM certificates in extraCA (none when empty). Proxy settings come from the
// environment, as for http.DefaultTransport.
func Transport(extraCA []byte) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	t.ResponseHeaderTimeout = 2 * time.Minute
	if len(extraCA) == 0 {
		return t, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(extraCA) {
		return nil, errors.New("tlsroots: the extra CA holds no PEM certificate")
	}
	t.TLSClientConfig.RootCAs = pool
	return t, nil
}

// Client wraps Transport in an *http.Client that never follows redirects: a
// 3xx answer is returned as-is, so callers refuse it instead of being led to
// another host.
func Client(extraCA []byte) (*http.Client, error) {
	t, err := Transport(extraCA)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: t, CheckRedirect: NoRedirects}, nil
}

// NoRedirects is an http.Client CheckRedirect that stops at the first redirect.
func NoRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
