package functions

import (
	"github.com/cloudbackup-d365/cloudbackup/shared/config"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
)

// TriggerKind is the trigger type of a function.
type TriggerKind string

// Trigger kinds, spelled as in function.json.
const (
	TimerTrigger      TriggerKind = "timerTrigger"
	ServiceBusTrigger TriggerKind = "serviceBusTrigger"
	HTTPTrigger       TriggerKind = "httpTrigger"
)

// Binding names used in function.json; the handlers read Data[<name>].
const (
	TimerBinding    = "timer"
	MessageBinding  = "message"
	RequestBinding  = "req"
	ResponseBinding = "res"
)

// Definition describes one function folder.
type Definition struct {
	Name    string
	Trigger TriggerKind
	// Queue is the Service Bus queue of a serviceBusTrigger.
	Queue string
	// Schedule is the NCRONTAB (or %Setting%) of a timerTrigger.
	Schedule string
	// Route, AuthLevel and Methods describe an httpTrigger (route relative to /api/).
	Route     string
	AuthLevel string
	Methods   []string
}

// Function names (the folder names and the paths the host posts to).
const (
	ScheduleBackups = "ScheduleBackups"
	ApplyRetention  = "ApplyRetention"
	ScanEnvironment = "ScanEnvironment"
	ExtractPage     = "ExtractPage"
	DownloadFiles   = "DownloadFiles"
	RestoreRecords  = "RestoreRecords"
	Health          = "Health"
	Connections     = "Connections"
	Environments    = "Environments"
	Backups         = "Backups"
	Restores        = "Restores"
	OpenAPI         = "OpenAPI"
	Audit           = "Audit"
)

var allMethods = []string{"get", "post", "put", "patch", "delete"}

// Definitions lists every function of the app.
func Definitions() []Definition {
	return []Definition{
		{Name: ScheduleBackups, Trigger: TimerTrigger, Schedule: "%" + config.EnvBackupSchedule + "%"},
		{Name: ApplyRetention, Trigger: TimerTrigger, Schedule: "%" + config.EnvRetentionSchedule + "%"},
		{Name: ScanEnvironment, Trigger: ServiceBusTrigger, Queue: messaging.QueueScan},
		{Name: ExtractPage, Trigger: ServiceBusTrigger, Queue: messaging.QueueExtract},
		{Name: DownloadFiles, Trigger: ServiceBusTrigger, Queue: messaging.QueueFiles},
		{Name: RestoreRecords, Trigger: ServiceBusTrigger, Queue: messaging.QueueRestore},
		{Name: Health, Trigger: HTTPTrigger, Route: "health", AuthLevel: "anonymous", Methods: []string{"get"}},
		{Name: OpenAPI, Trigger: HTTPTrigger, Route: "openapi.json", AuthLevel: "anonymous", Methods: []string{"get"}},
		{Name: Connections, Trigger: HTTPTrigger, Route: "connections/{*path}", AuthLevel: "function", Methods: allMethods},
		{Name: Environments, Trigger: HTTPTrigger, Route: "environments/{*path}", AuthLevel: "function", Methods: allMethods},
		{Name: Backups, Trigger: HTTPTrigger, Route: "backups/{*path}", AuthLevel: "function", Methods: allMethods},
		{Name: Restores, Trigger: HTTPTrigger, Route: "restores/{*path}", AuthLevel: "function", Methods: allMethods},
		{Name: Audit, Trigger: HTTPTrigger, Route: "audit", AuthLevel: "function", Methods: []string{"get"}},
	}
}

// FunctionJSON renders the function.json of d, as committed in the function folder.
func (d Definition) FunctionJSON() map[string]any {
	var bindings []map[string]any
	switch d.Trigger {
	case TimerTrigger:
		bindings = []map[string]any{{"name": TimerBinding, "type": string(TimerTrigger), "direction": "in", "schedule": d.Schedule, "useMonitor": true}}
	case ServiceBusTrigger:
		bindings = []map[string]any{{"name": MessageBinding, "type": string(ServiceBusTrigger), "direction": "in", "queueName": d.Queue, "connection": messaging.ConnectionSetting}}
	case HTTPTrigger:
		bindings = []map[string]any{
			{"name": RequestBinding, "type": string(HTTPTrigger), "direction": "in", "authLevel": d.AuthLevel, "methods": d.Methods, "route": d.Route},
			{"name": ResponseBinding, "type": "http", "direction": "out"},
		}
	}
	return map[string]any{"bindings": bindings}
}
