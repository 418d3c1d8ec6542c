package memstore

// sessionData holds the session records; its methods live in this file.
type sessionData struct{}
