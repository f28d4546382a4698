// Package customhandler speaks the Azure Functions custom handler protocol.
//
// The Functions host (or the project's dev host) starts the handler with
// FUNCTIONS_CUSTOMHANDLER_PORT and POSTs one request per invocation to
// /<FunctionName>. The body is {"Data":{binding:value},"Metadata":{...}} where the
// host serialises every non-object value with JsonConvert once more: a Service
// Bus body arrives as a JSON string holding JSON text, MessageId as "\"id\"",
// DeliveryCount as "1". This package undoes exactly that encoding, so domain code
// sees typed values, and answers {"Outputs","Logs","ReturnValue"}; any error is a
// non-2xx answer so the host abandons the message and redelivers it.
//
// HTTP functions run with enableForwardingHttpRequest: the host proxies the raw
// request to its original path (/api/...), so they are served by a plain
// net/http handler mounted under /api/.
package customhandler
