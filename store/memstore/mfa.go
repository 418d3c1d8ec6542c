package memstore

// mfaData holds the mfa records; its methods live in this file.
type mfaData struct{}
