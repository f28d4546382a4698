// Command dataverse-sim runs the Dataverse, Entra ID and discovery simulator
// (package dataversesim) until interrupted, for make run, demos and benchmarks.
//
//	dataverse-sim -addr 127.0.0.1:0 -records N -seed S -latency D -ca-out FILE [-limits default|off|SCALE] [-state FILE] [-org small|standard]
//
// When ready it prints one JSON line on stdout (see dataversesim.ReadyInfo).
package main
