package devhost

import "testing"

func TestRouteTemplates(t *testing.T) {
	cases := []struct {
		template, path string
		match          bool
	}{
		{"health", "health", true},
		{"health", "Health/", true},
		{"health", "health/x", false},
		{"connections/{*path}", "connections", true},
		{"connections/{*path}", "connections/abc/validate", true},
		{"connections/{*path}", "connectionsx", false},
		{"items/{id}", "items/1", true},
		{"items/{id}", "items", false},
		{"items/{id?}", "items", true},
		{"items/{id:guid}/x", "items/5/x", true},
		{"items/{id}/x", "items/5/y", false},
	}
	for _, c := range cases {
		r := httpRoute{segments: parseRoute(c.template)}
		if got := r.match(c.path); got != c.match {
			t.Errorf("%q ~ %q = %v, want %v", c.template, c.path, got, c.match)
		}
	}
}
