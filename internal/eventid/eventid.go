// Package eventid derives the IDs of events that must be recorded once per
// organization and time window, whichever replica notices first: every
// replica computes the same ID, and the event store refuses the second
// append of an ID (sso.ErrConflict).
package eventid

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Once returns the ID of the event of kind for orgID in the window that
// starts at start.
func Once(kind, orgID string, start time.Time) string {
	h := sha256.New()
	for _, s := range []string{kind, orgID, strconv.FormatInt(start.UTC().UnixNano(), 10)} {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	return "evt_" + hex.EncodeToString(h.Sum(nil)[:16])
}
