// Package messaging is the seam between the functions and the queue transport.
//
// In Azure the queues are Service Bus queues (identity-based access, duplicate
// detection on MessageID, scheduled enqueue for back-off). Locally, where no
// Service Bus can run, Azure Storage queues in Azurite stand in: the dev host
// polls them and invokes the handler exactly as the Functions host would for a
// serviceBusTrigger. Both implementations satisfy Sender; the choice is made
// from configuration (MESSAGING_TRANSPORT).
package messaging
