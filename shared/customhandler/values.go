package customhandler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// decodeString undoes the host's encoding of a scalar: the JSON value may be a
// string whose content is itself a JSON string literal ("\"abc\"" -> abc), a
// plain string ("1", "2023-10-12T20:13:49"), a number, or null.
func decodeString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
			var inner string
			if err := json.Unmarshal([]byte(s), &inner); err == nil {
				return inner, nil
			}
		}
		return s, nil
	case '{', '[':
		return "", fmt.Errorf("expected a scalar, got %.20s", raw)
	default: // number or bool, as JSON
		return string(raw), nil
	}
}

func decodeInt(raw json.RawMessage) (int64, error) {
	s, err := decodeString(raw)
	if err != nil || s == "" {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	return n, nil
}

// hostTimeLayouts are the shapes the .NET host produces for DateTime and
// DateTimeOffset (with or without fraction and offset).
var hostTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.9999999",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04:05.9999999Z07:00",
	"1/2/2006 3:04:05 PM",
	"1/2/2006 3:04:05 PM -07:00",
}

func decodeTime(raw json.RawMessage) (time.Time, error) {
	s, err := decodeString(raw)
	if err != nil || s == "" {
		return time.Time{}, err
	}
	s = strings.TrimSpace(s)
	for _, layout := range hostTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time the host produces", s)
}

// decodeBody turns a binding value into the message body bytes. The host sends
// a string message as a JSON string (whose content is the message text, often
// JSON itself) and an object as a JSON object.
func decodeBody(raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, fmt.Errorf("message body is missing")
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("message body is not a valid JSON string: %w", err)
		}
		return []byte(s), nil
	}
	return append([]byte(nil), raw...), nil
}
