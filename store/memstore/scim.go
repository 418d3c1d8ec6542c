package memstore

// scimData holds the scim records; its methods live in this file.
type scimData struct{}
