package dataversesim

import (
	"net/http"
)

// TB is the part of testing.TB that Start needs (kept as an interface so
// this package does not import testing).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Start is New for tests: it fails the test on error and closes the
// simulator when the test ends.
func Start(tb TB, opts Options) *Server {
	tb.Helper()
	s, err := New(opts)
	if err != nil {
		tb.Fatalf("dataversesim: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// AuthorizedClient returns an HTTP client that trusts the simulator and
// sends a bearer token for this environment as app clientID ("" = the first
// usable secret client). Tokens are minted directly, without Entra round trips.
func (e *Env) AuthorizedClient(clientID string) *http.Client {
	c := e.s.Client()
	c.Transport = &bearerTransport{base: c.Transport, env: e, clientID: clientID}
	return c
}

type bearerTransport struct {
	base     http.RoundTripper
	env      *Env
	clientID string
}

func (b *bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	tok, err := b.env.Token(b.clientID)
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return b.base.RoundTrip(r)
}
