package messaging

// ConnectionSetting is the app-setting prefix the Functions host and the
// handler both read to reach Service Bus: either a connection string under this
// exact name, or identity-based settings ServiceBusConnection__fullyQualifiedNamespace
// (+ __credential, __clientId). Every serviceBusTrigger's "connection" names it.
const ConnectionSetting = "ServiceBusConnection"

// Queue names. These are the only place the names are spelled: function.json
// files, the dev host and the Bicep templates are checked against them by tests.
const (
	// QueueScan carries one message per backup run: snapshot metadata, plan tables.
	QueueScan = "scan"
	// QueueExtract carries one message per page of one table of one run.
	QueueExtract = "extract"
	// QueueFiles carries file, image and attachment downloads.
	QueueFiles = "files"
	// QueueRestore carries restore-job chunks.
	QueueRestore = "restore"
)

// Queues lists every queue the code sends to or is triggered from.
func Queues() []string {
	return []string{QueueScan, QueueExtract, QueueFiles, QueueRestore}
}

// PoisonQueue is where the local transport (Storage queues) moves a message that
// failed on every allowed delivery, as the Functions host does for queueTrigger.
// On Service Bus the equivalent is the queue's dead-letter sub-queue.
func PoisonQueue(queue string) string { return queue + "-poison" }
