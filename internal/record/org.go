package record

import (
	"context"
	"errors"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// orgAttempts bounds how often Org applies a change to a fresh read when
// other saves keep getting there first.
const orgAttempts = 4

// Org saves a change to an organization's settings without undoing
// another save. It applies change to org (the organization as the caller
// read it) and stores the result with the events change returns, through
// Change, only while the stored organization is still the one read
// (sso.UpdateOrgIf). When another save got there first, it reads the
// organization again and applies change to that copy, so the change lands
// on the latest settings, and its checks (a confirmation, a weakening)
// see them too. change returns write false when there is nothing to
// store. Org returns the organization as stored, or as last read when
// change wrote nothing; after orgAttempts lost races the error wraps
// sso.ErrOrgChanged.
func Org[S sso.OrgStore, T any](ctx context.Context, st S, r sso.EventRecorder, now func() time.Time,
	logf func(ctx context.Context, msg string, args ...any), org *sso.Organization,
	change func(o *sso.Organization) (evs []*sso.Event, write bool, err error)) (*sso.Organization, error) {
	var err error
	for range orgAttempts {
		prev := org.UpdatedAt
		evs, write, cerr := change(org)
		if cerr != nil || !write {
			return org, cerr
		}
		t := now()
		org.UpdatedAt = sso.NextUpdatedAt(prev, t)
		err = Change[S, T](ctx, st, r, t, evs, logf, func(s S) error { return sso.UpdateOrgIf(ctx, s, org, prev) })
		if !errors.Is(err, sso.ErrOrgChanged) {
			return org, err
		}
		if org, err = st.GetOrg(ctx, org.ID); err != nil {
			return nil, err
		}
	}
	return nil, sso.OrgChanged(org.ID)
}
