package oidc

// Test helpers of the oidc-provider interop suite, shared with the external
// test package.
var (
	OPHarnessDir = opHarnessDir
	WriteOPJWKS  = writeJWKS
	FreePort     = freePort
	WaitForOP    = waitForOP
)
