package guid

import "testing"

func TestValid(t *testing.T) {
	for s, want := range map[string]bool{
		"627090ff-40a3-4053-8790-584edc5be201":   true,
		"627090FF-40A3-4053-8790-584EDC5BE201":   true,
		"{627090ff-40a3-4053-8790-584edc5be201}": false,
		"627090ff40a3-4053-8790-584edc5be201x":   false,
		"627090ff-40a3-4053-8790-584edc5be20g":   false,
		"627090ff-40a3-4053-8790-584edc5be20":    false,
		"":                                       false,
	} {
		if Valid(s) != want {
			t.Errorf("Valid(%q) = %v", s, !want)
		}
	}
}
