package functions

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// MaxBodyBytes caps request bodies (a PFX certificate, base64 encoded, is a
// few KB; a connection with twenty of them stays far below).
const MaxBodyBytes = 256 << 10

// decode reads a JSON body strictly into v: application/json only, at most
// MaxBodyBytes, unknown fields rejected by name, one value only.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Detail: "send the body as application/json"}
		}
	}
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.More() {
			return bad("", "the body holds more than one JSON value")
		}
		if _, err := dec.Token(); err != io.EOF {
			return bad("", "unexpected data after the JSON value")
		}
		return nil
	}
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Detail: fmt.Sprintf("the body exceeds %d bytes", MaxBodyBytes)}
	case errors.Is(err, io.EOF):
		return bad("", "the body is empty; send a JSON object")
	case errors.As(err, &se):
		return bad("", fmt.Sprintf("malformed JSON at byte %d", se.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return bad("", "truncated JSON")
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "(body)"
		}
		return bad(field, fmt.Sprintf("must be %s, not %s", jsonKind(te.Type.Kind().String()), te.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return bad(name, fmt.Sprintf("unknown field %q", name))
	}
	return bad("", "invalid JSON: "+err.Error())
}

func bad(field, msg string) *apiError {
	e := &apiError{Status: http.StatusBadRequest, Code: "invalid_body", Detail: msg}
	if field != "" {
		e.Errors = []fieldError{{Field: field, Message: msg}}
		e.Detail = field + ": " + msg
	}
	return e
}

func jsonKind(k string) string {
	switch k {
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	}
	return "a number"
}
