//go:build !linux

package session_test

import "testing"

func threadCPU(b *testing.B, loop func()) { loop() }
