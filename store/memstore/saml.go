package memstore

// samlData holds the saml records; its methods live in this file.
type samlData struct{}
