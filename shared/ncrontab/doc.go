// Package ncrontab parses the NCRONTAB expressions of the Azure Functions
// timer trigger and finds when they fire. The dev host (timers), the backup
// scheduler (a policy's schedule) and the policy validator all use it, so
// what the validator accepts is what the scheduler and the dev host run.
//
// The syntax is the Functions host's: it parses schedules with the NCrontab
// library with seconds included (azure-webjobs-sdk-extensions,
// Timers/Scheduling/CronSchedule.cs: ParseOptions.IncludingSeconds = true),
// documented in azure-docs articles/azure-functions/functions-bindings-timer.md:
//
//	{second} {minute} {hour} {day} {month} {day-of-week}
//
// exactly six fields, each '*', a value, a range a-b, a list a,b,c, or a
// step (*/n, a-b/n, a/n meaning a to the field's end). Months 1-12 and days
// of the week 0-6 (0 is Sunday) may be English names, case-insensitive and
// abbreviated to any prefix (NCrontab takes the first name the text starts:
// "Jan", "January", "mon", "Ma" = March). A time matches when every field
// matches; the day and the day of the week must both match (NCrontab's
// CrontabSchedule, unlike Vixie cron's either-or). Times are UTC, as the
// host uses unless WEBSITE_TIME_ZONE is set.
//
// Where NCrontab silently reinterprets an expression this package refuses
// it with a message saying what to write instead: a range written backwards
// (NCrontab swaps 30-10 into 10-30) and a step of 0 (NCrontab reads 1).
// Day of week 7, accepted by some crons as Sunday, is refused as the host
// refuses it.
//
// robfig/cron (the usual Go choice) was not used: it takes only three-letter
// names ("Monday" and "January", which the Functions documentation shows,
// fail) and ORs the day and the day of the week when both are restricted.
package ncrontab
