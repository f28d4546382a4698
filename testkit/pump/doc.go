// Package pump runs the engines' queues in process: it takes the messages
// an engine sent through a messaging.MemorySender and delivers them to the
// engines' Handle methods the way the Functions host would: delayed
// messages when they are due, delivery counts that grow on each retry, a
// failed message again after a short delay until it becomes poison. Engine
// tests and the benchmarks use it instead of each writing its own queue
// dispatch (testkit/inproc.Handlers maps the queues to the backup and
// restore engines); the options script what a real host may do (several deliveries
// at once, duplicates, any order, a crash mid-run).
//
// Concurrency: Options.Workers goroutines share one queue under a mutex and
// call handlers without holding it. Handlers may send more messages while
// they run; the pump ends when nothing is queued, nothing is in flight and
// the sender holds nothing more for the pumped queues.
package pump
