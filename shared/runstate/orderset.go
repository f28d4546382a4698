package runstate

import (
	"encoding/base64"
	"encoding/json"
	"math/bits"
)

// OrderSet is a set of task orders (Task.Order), kept in the run row as a
// bitmap (base64 in JSON: 650 tables take 110 characters), so the engine
// can tell which tables were launched and which ended from the run row
// alone, without listing every task of the run. Adding is idempotent.
type OrderSet struct{ b []byte }

// Add puts i in the set and reports whether it was missing.
func (s *OrderSet) Add(i int) bool {
	if i < 0 || s.Has(i) {
		return false
	}
	for len(s.b) <= i/8 {
		s.b = append(s.b, 0)
	}
	s.b[i/8] |= 1 << (i % 8)
	return true
}

// Has reports whether i is in the set.
func (s OrderSet) Has(i int) bool {
	return i >= 0 && i/8 < len(s.b) && s.b[i/8]&(1<<(i%8)) != 0
}

// Len is the number of orders in the set.
func (s OrderSet) Len() int {
	n := 0
	for _, x := range s.b {
		n += bits.OnesCount8(x)
	}
	return n
}

// IsZero reports an empty set (omitzero leaves it out of the row).
func (s OrderSet) IsZero() bool { return s.Len() == 0 }

// MarshalJSON writes the bitmap as a base64 string.
func (s OrderSet) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.StdEncoding.EncodeToString(s.b))
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (s *OrderSet) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	raw, err := base64.StdEncoding.DecodeString(str)
	if err != nil {
		return err
	}
	s.b = raw
	return nil
}
