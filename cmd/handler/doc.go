// Command handler is the Azure Functions custom handler: the Functions host
// (or the dev host) starts it with FUNCTIONS_CUSTOMHANDLER_PORT and sends it
// every invocation. It is the app's composition root: it loads and validates
// configuration, builds the clients, stores, engines and adapters
// (compose, wire.go), hands them to functions.New and serves until the host
// stops it.
package main
