// Command firstbackup is the last step of make run: it registers the
// simulator's demo organization through the HTTP API (or finds it
// registered), runs a backup and prints its summary (tables, records,
// files, bytes, duration, throttles).
package main
