package normalize

// MaxFieldLength bounds free-text fields (names, display names, IDs) that
// stores accept.
const MaxFieldLength = 1024
