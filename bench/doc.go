// Command bench is make bench: the benchmarks of issue 8, run against the
// whole stack on this machine (Azurite, the Dataverse simulator, the dev
// host and the real handler binary). It prints one table of figures, each
// the median of its repetitions and each ratio computed from figures of the
// same run, writes them to bench/results/latest.json and the table into
// BENCHMARKS.md between its "bench:table" markers.
//
//	go run ./bench -app .local/app                  # the full set (make bench)
//	go run ./bench -app .local/app -quick           # small sizes, one repetition (development)
//	go run ./bench -app .local/app -scale-1m        # adds the 1,000,000-record scale point
//	go run ./bench -app .local/app -only extract,memory
package main
