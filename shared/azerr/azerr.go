package azerr

import (
	"errors"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// Code is the service error code of err ("" when err is not a service error).
func Code(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

// HasCode reports whether err is a service error with one of codes.
func HasCode(err error, codes ...string) bool {
	c := Code(err)
	for _, want := range codes {
		if c != "" && c == want {
			return true
		}
	}
	return false
}

// Status is the HTTP status of err (0 when err is not a service error).
func Status(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// Short is the first line of err's message.
func Short(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// Wrap puts err behind "context: <first line of err>", dropping the request
// dump from the message while errors.As and errors.Is still reach err (the
// *azcore.ResponseError, a context error).
func Wrap(context string, err error) error {
	return &briefError{msg: context + ": " + Short(err), err: err}
}

type briefError struct {
	msg string
	err error
}

func (e *briefError) Error() string { return e.msg }
func (e *briefError) Unwrap() error { return e.err }
