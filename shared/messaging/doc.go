// Package messaging is the seam between the functions and the queue transport.
//
// In Azure the queues are Service Bus queues (identity-based access, duplicate
// detection on MessageID, scheduled enqueue for back-off). Locally, where no
// Service Bus can run, Azure Storage queues in Azurite stand in: the dev host
// polls them and invokes the handler exactly as the Functions host would for a
// serviceBusTrigger. Both implementations satisfy Sender; the choice is made
// from configuration (MESSAGING_TRANSPORT). MemorySender, a third, records
// what is sent, for unit tests and the in-process pump (testkit/pump); the
// Storage queue and memory senders pass one conformance test (Service Bus
// has no local emulator here). Queue names are in one place (queues.go).
package messaging
