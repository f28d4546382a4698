// Command devhost plays the Azure Functions host locally: it starts the
// custom handler of an app folder and drives it with timer, queue and HTTP
// invocations (see package devhost). On start it prints one JSON line with the
// API base URL and keys, then serves until interrupted.
package main
