// Package retry runs an operation again after failures its policy calls
// retryable: exponential backoff with full jitter, a server's Retry-After
// honoured as the wait, the context checked before every attempt and during
// every wait. The engines' in-invocation retries of Dataverse calls go
// through it; what is retryable is decided by the caller's Decide (for
// Dataverse calls, dataverse.Decide, built on dataverse.Classify).
//
// Do returns Stats (attempts made, throttles met, time waited) as a value:
// callers add the throttles to their own results, nothing travels in the
// context.
package retry
