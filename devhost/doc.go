// Package devhost plays the Azure Functions host for local runs and tests on
// machines without Functions Core Tools or Docker.
//
// It reads an app folder laid out as the host expects (host.json plus one
// sub-folder per function holding function.json), starts the custom handler
// named in host.json with FUNCTIONS_CUSTOMHANDLER_PORT, waits until it
// answers, and then drives it over the custom handler protocol:
//   - timer triggers fire on their NCRONTAB schedule (shared/ncrontab: the
//     host's six-field syntax) and on demand
//     (POST /admin/functions/<name>, master key), as the real host allows;
//   - serviceBusTrigger and queueTrigger functions are fed from Azure Storage
//     queues (Azurite) named like the Service Bus queues. Each message is
//     posted with the payload encoding of the real host (strings JSON-encoded
//     once more, DeliveryCount from the dequeue count). A failed invocation
//     makes the message visible again after RetryDelay; once it has been
//     delivered MaxDeliveryCount times it is moved to <queue>-poison and logged,
//     the local counterpart of Service Bus dead-lettering;
//   - HTTP triggers: /api/* requests are matched against the functions' route
//     templates, checked for a function key when authLevel is function
//     (x-functions-key header or code= query) and forwarded as-is, as
//     enableForwardingHttpRequest does. Bodies over MaxRequestBodyBytes
//     (100 MB, the host's limit) are drained and answered 413; paths with
//     '.', '..' or empty segments are refused; the host's own errors are
//     problem+json, and a failed forward never shows the handler's address;
//   - if the handler process exits it is restarted, so in-flight messages are
//     redelivered exactly as after a crash in Azure.
//
// It is development tooling: the deployable package is unchanged and the same
// folder runs under `func start`.
package devhost
