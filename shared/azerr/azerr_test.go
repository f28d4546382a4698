package azerr

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

func TestReadsWrappedServiceErrors(t *testing.T) {
	re := &azcore.ResponseError{ErrorCode: "TableAlreadyExists", StatusCode: http.StatusConflict}
	err := fmt.Errorf("create: %w", re)
	if !HasCode(err, "Other", "TableAlreadyExists") || HasCode(err, "Other") || Status(err) != 409 || Code(err) != "TableAlreadyExists" {
		t.Errorf("code %q status %d", Code(err), Status(err))
	}
	plain := errors.New("dial tcp: refused\nGET http://x\nRESPONSE 0")
	if HasCode(plain, "") || Status(plain) != 0 || Short(plain) != "dial tcp: refused" {
		t.Errorf("plain error read as %q %d %q", Code(plain), Status(plain), Short(plain))
	}
}

func TestWrapKeepsTheChain(t *testing.T) {
	re := &azcore.ResponseError{ErrorCode: "ServerBusy", StatusCode: http.StatusServiceUnavailable}
	err := Wrap("get runs e/r", fmt.Errorf("%w\nRESPONSE 503\nheaders...", re))
	var got *azcore.ResponseError
	if err.Error() != "get runs e/r: "+Short(re) || !errors.As(err, &got) || Status(err) != 503 {
		t.Fatalf("wrapped: %q", err)
	}
}
