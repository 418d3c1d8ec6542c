package memstore

// coreData holds the core records; its methods live in this file.
type coreData struct{}
