//go:build race

package mfa

// raceEnabled reports a -race build, whose instrumentation changes
// allocation counts.
const raceEnabled = true
