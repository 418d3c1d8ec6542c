package saml_test

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the process user+system CPU time. Benchmarks report it
// per iteration ("cpu-ns/op") because wall-clock time on a shared machine
// swings with other load.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports cpu-ns/op for the loop that started at start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
