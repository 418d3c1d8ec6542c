package audit

import (
	"strconv"

	"github.com/ssokit/ssokit/sso"
)

// ChainError reports where VerifyChain found the chain broken.
type ChainError struct {
	// Seq is the sequence number at which the chain stops verifying.
	Seq    int64
	Reason string
}

// Error names the first broken sequence number and why it breaks.
func (e *ChainError) Error() string {
	return "sso: audit chain broken at seq " + strconv.FormatInt(e.Seq, 10) + ": " + e.Reason
}

// VerifyChain checks that events (in Seq order, starting at Seq 1) form an
// unbroken chain: consecutive sequence numbers, each PrevHash equal to the
// predecessor's Hash and each Hash equal to the recomputed content hash. It
// returns a *ChainError describing the first break.
func VerifyChain(events []*sso.Event) error {
	var prev *sso.Event
	for _, e := range events {
		want := int64(1)
		prevHash := ""
		if prev != nil {
			want, prevHash = prev.Seq+1, prev.Hash
		}
		switch {
		case e.Seq != want:
			return &ChainError{Seq: want, Reason: "event missing"}
		case e.PrevHash != prevHash:
			return &ChainError{Seq: e.Seq, Reason: "previous hash mismatch"}
		case e.ComputeHash() != e.Hash:
			return &ChainError{Seq: e.Seq, Reason: "content hash mismatch"}
		}
		prev = e
	}
	return nil
}
