//go:build linux

package session_test

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// threadCPU runs loop on a locked OS thread and reports that thread's CPU
// time per iteration as "cpu-ns/op", which, unlike ns/op, does not grow when
// the machine is shared with other busy processes.
func threadCPU(b *testing.B, loop func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var before, after unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_THREAD, &before)
	loop()
	_ = unix.Getrusage(unix.RUSAGE_THREAD, &after)
	cpu := unix.TimevalToNsec(after.Utime) + unix.TimevalToNsec(after.Stime) -
		unix.TimevalToNsec(before.Utime) - unix.TimevalToNsec(before.Stime)
	if b.N > 0 {
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	}
}
