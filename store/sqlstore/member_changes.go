package sqlstore

import (
	"context"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var _ sso.MembershipChangeLister = (*Store)(nil)

// qChangedMembers reads memberships by update time through migration
// 0460's index: $1 bounds the range the index scans, the row comparison
// starts after the cursor.
const qChangedMembers = `SELECT ` + sqlbase.MemberCols + ` FROM ssokit_memberships
	WHERE updated_at >= $1 AND (updated_at, org_id, user_id) > ($2, $3, $4)
	ORDER BY updated_at, org_id, user_id LIMIT $5`

// ListChangedMemberships implements sso.MembershipChangeLister.
func (s *Store) ListChangedMemberships(ctx context.Context, since time.Time, after sso.MembershipCursor, limit int) ([]*sso.Membership, error) {
	from := sqlbase.TS(since)
	at := sqlbase.TS(after.UpdatedAt)
	if after == (sso.MembershipCursor{}) {
		// The zero cursor starts before every membership, those with a
		// zero update time included.
		at = -1
	}
	return sqlbase.Collect(ctx, s.db, scanMember, qChangedMembers, from, at, after.OrgID, after.UserID, sqlbase.Limit(limit))
}
