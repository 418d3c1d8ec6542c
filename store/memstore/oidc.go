package memstore

// oidcData holds the oidc records; its methods live in this file.
type oidcData struct{}
