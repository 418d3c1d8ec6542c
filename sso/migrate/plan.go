package migrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// Action is what an import does with one row.
type Action string

// The actions of a plan.
const (
	Create    Action = "create"
	Update    Action = "update"
	Unchanged Action = "unchanged"
	Invalid   Action = "invalid"
)

// Issue is one reason a row is invalid.
type Issue struct {
	// Field is the row's field at fault ("acs_url", "org", "config", ...).
	Field string `json:"field"`
	// Reason is a stable code ("acs_url_in_use", "duplicate_in_import", ...).
	Reason string `json:"reason"`
	// Message says what is wrong and what to do.
	Message string `json:"message"`
}

// Item is the plan for one row.
type Item struct {
	Line         int          `json:"line"`
	Org          string       `json:"org"`
	Name         string       `json:"name"`
	Protocol     sso.Protocol `json:"protocol"`
	ConnectionID string       `json:"connection_id,omitempty"`
	Action       Action       `json:"action"`
	// Changes name what an update changes: "display_name", "config",
	// "attribute_mapping", and "status" when an active connection whose
	// configuration changes returns to draft (to be tested again).
	Changes []string `json:"changes,omitempty"`
	Issues  []Issue  `json:"issues,omitempty"`
	// Written reports that Run created or updated the connection.
	Written bool `json:"written,omitempty"`
	// SP is the SP side the IdP must know after the import: it equals
	// what the IdP already has when the row names its endpoints.
	SP *sso.SPDetails `json:"sp,omitempty"`
}

// Plan is the outcome of Run: one Item per row, in order.
type Plan struct {
	Items []Item `json:"items"`
	// Applied reports whether the whole plan was written. After a store
	// failure part way it is false and Items' Written say what was.
	Applied bool `json:"applied"`
	// Counts is the number of rows per action.
	Counts map[Action]int `json:"counts"`
}

// Valid reports whether no row is invalid.
func (p *Plan) Valid() bool { return p.Counts[Invalid] == 0 }

// Store is what an import reads and writes.
type Store interface {
	GetOrg(ctx context.Context, id string) (*sso.Organization, error)
	sso.ConnectionStore
}

// ErrInvalidPlan is returned by Run with DryRun false when some row is
// invalid: nothing was written. It wraps sso.ErrInvalidInput.
var ErrInvalidPlan = fmt.Errorf("%w: migrate: some rows are invalid, nothing was imported", sso.ErrInvalidInput)

// Importer plans and applies imports of connections.
type Importer struct {
	// Store holds organizations and connections. Required.
	Store Store
	// Configurers validate each row's protocol settings, one per protocol
	// (saml.SP and oidc.RP). Required.
	Configurers map[sso.Protocol]sso.ConnectionConfigurer
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Write, when set, writes one planned connection (a Create or an
	// Update) in place of the Store: the admin API sets it to store each
	// connection together with its audit event in one transaction. For an
	// Update, prevUpdatedAt is the UpdatedAt of the connection as the plan
	// read it, and Write must store c only while the stored connection
	// still has it (sso.UpdateConnectionIf), failing with
	// sso.ErrConnectionChanged otherwise, so that a change made to the
	// connection while the import ran (a disable, a replaced certificate)
	// is not undone by the plan's older copy.
	Write func(ctx context.Context, a Action, c *sso.Connection, prevUpdatedAt time.Time) error
}

// Options select what Run does.
type Options struct {
	// OrgID, when set, confines the import to one organization: a row
	// naming another is invalid (field "org"), a row naming none is for
	// OrgID.
	OrgID string
	// DryRun reports the plan and writes nothing.
	DryRun bool
}

// Run plans the import of rows and, unless opts.DryRun, applies it: it
// creates draft connections, updates changed ones and leaves unchanged
// ones alone, so running it again applies nothing new. With an invalid
// row nothing is written and the error is ErrInvalidPlan; the plan says
// which rows and fields are at fault. An update that would take an
// organization's last active, tested connection out of service while it
// enforces SSO stops the import at that row (sso.CheckLastEnforced:
// reason last_enforced_connection), the rows before it written.
func (im *Importer) Run(ctx context.Context, rows []Row, opts Options) (*Plan, error) {
	if im.Store == nil || len(im.Configurers) == 0 {
		return nil, fmt.Errorf("%w: migrate: Store and Configurers are required", sso.ErrInvalidConfig)
	}
	if len(rows) > MaxRows {
		return nil, formatErr("%d rows, at most %d per import", len(rows), MaxRows)
	}
	now := time.Now
	if im.Now != nil {
		now = im.Now
	}
	plan := &Plan{Items: make([]Item, 0, len(rows)), Counts: map[Action]int{}}
	cands := make([]*sso.Connection, len(rows))
	prevAt := make([]time.Time, len(rows))
	// Planning reserves nothing (a SAML connection's own paths): a dry run
	// writes nothing, and a real run reserves just before it writes.
	pctx := sso.WithPlanOnly(ctx)
	for i := range rows {
		it, c, err := im.planRow(pctx, &rows[i], opts, now().UTC())
		if err != nil {
			return nil, err
		}
		if it.Action == Update {
			// Written over the copy read, as a new version of it.
			prevAt[i], c.UpdatedAt = c.UpdatedAt, sso.NextUpdatedAt(c.UpdatedAt, now())
		}
		plan.Items, cands[i] = append(plan.Items, it), c
	}
	markConflicts(plan, cands)
	for _, it := range plan.Items {
		plan.Counts[it.Action]++
	}
	if opts.DryRun {
		return plan, nil
	}
	if !plan.Valid() {
		return plan, ErrInvalidPlan
	}
	if err := im.reserve(ctx, plan, cands); err != nil {
		return plan, err
	}
	for i, it := range plan.Items {
		err := im.keepsEnforced(ctx, it, cands[i])
		if err == nil {
			err = im.write(ctx, it.Action, cands[i], prevAt[i])
		}
		if err != nil {
			im.release(ctx, plan, cands, i)
			return plan, fmt.Errorf("migrate: row %d (%s): %w", it.Line, it.ConnectionID, err)
		}
		plan.Items[i].Written = it.Action == Create || it.Action == Update
	}
	plan.Applied = true
	return plan, nil
}

// write stores connection c of a Create or an Update item through
// Importer.Write when set, else through the Store; other actions write
// nothing. An Update is written only over the copy the plan read
// (prevUpdatedAt).
func (im *Importer) write(ctx context.Context, a Action, c *sso.Connection, prevUpdatedAt time.Time) error {
	if a != Create && a != Update {
		return nil
	}
	if im.Write != nil {
		return im.Write(ctx, a, c, prevUpdatedAt)
	}
	if a == Create {
		return im.Store.CreateConnection(ctx, c)
	}
	return sso.UpdateConnectionIf(ctx, im.Store, c, prevUpdatedAt)
}

// keepsEnforced refuses the Update it of c when it takes an active
// connection out of service (new IdP settings return it to draft: the
// "status" change) while its organization enforces SSO and has no other
// active, tested connection (sso.CheckLastEnforced): the import stops
// there, as an admin's edit would be refused. The plan read c's status;
// the write stores c only over that copy.
func (im *Importer) keepsEnforced(ctx context.Context, it Item, c *sso.Connection) error {
	if it.Action != Update || !slices.Contains(it.Changes, "status") {
		return nil
	}
	org, err := im.Store.GetOrg(ctx, c.OrgID)
	if err != nil {
		return err
	}
	return sso.CheckLastEnforced(ctx, im.Store, org, c.ID)
}

// reserve has each configurer reserve what the connections to write claim
// (sso.ConnectionReserver). A refusal marks its row invalid and nothing is
// written.
func (im *Importer) reserve(ctx context.Context, plan *Plan, cands []*sso.Connection) error {
	for i, it := range plan.Items {
		res, ok := im.Configurers[it.Protocol].(sso.ConnectionReserver)
		if !ok || (it.Action != Create && it.Action != Update) {
			continue
		}
		err := res.ReserveConnection(ctx, cands[i])
		if err == nil {
			continue
		}
		iss := configureIssue(err)
		if iss == nil {
			return fmt.Errorf("migrate: row %d (%s): %w", it.Line, it.ConnectionID, err)
		}
		im.release(ctx, plan, cands, 0)
		plan.Counts[it.Action]--
		plan.Items[i].Action, plan.Items[i].Issues = Invalid, append(plan.Items[i].Issues, *iss)
		plan.Counts[Invalid]++
		return ErrInvalidPlan
	}
	return nil
}

// release drops the reservations of the connections to create from item
// from on, which will not be written (a failed run is best effort: a
// reservation it cannot drop expires on its own).
func (im *Importer) release(ctx context.Context, plan *Plan, cands []*sso.Connection, from int) {
	for i := from; i < len(plan.Items); i++ {
		it := plan.Items[i]
		if res, ok := im.Configurers[it.Protocol].(sso.ConnectionReserver); ok && it.Action == Create && cands[i] != nil {
			_ = res.ReleaseConnection(ctx, cands[i])
		}
	}
}

// planRow validates one row and returns its item and the connection it
// would store (nil when invalid or unchanged). An update's connection
// keeps the UpdatedAt of the stored copy it was made from.
func (im *Importer) planRow(ctx context.Context, row *Row, opts Options, now time.Time) (Item, *sso.Connection, error) {
	it := Item{Line: row.Line, Org: row.Org, Name: row.Name, Protocol: row.Protocol, ConnectionID: row.ID}
	if it.Org == "" {
		it.Org = opts.OrgID
	}
	bad := func(field, reason, msg string) (Item, *sso.Connection, error) {
		it.Action = Invalid
		it.Issues = append(it.Issues, Issue{Field: field, Reason: reason, Message: msg})
		return it, nil, nil
	}
	switch {
	case it.Org == "":
		return bad("org", "required", "name the organization the connection belongs to")
	case opts.OrgID != "" && it.Org != opts.OrgID:
		return bad("org", "other_org", "names another organization than the one this import is for: import it there")
	case strings.TrimSpace(row.Name) == "" || len(row.Name) > 200:
		return bad("name", "required", "give the connection a name of 1-200 bytes")
	case row.ID != "" && (len(row.ID) > 128 || strings.ContainsAny(row.ID, "/?#% \t\r\n")):
		return bad("id", "invalid_id", "a connection ID is at most 128 bytes without spaces, /, ?, # or %")
	}
	cf := im.Configurers[row.Protocol]
	if cf == nil {
		return bad("protocol", "unknown_protocol", "must be one of the protocols this server links (for example saml or oidc)")
	}
	if _, err := im.Store.GetOrg(ctx, it.Org); errors.Is(err, sso.ErrNotFound) {
		return bad("org", "unknown_org", "no organization has this ID: create it first")
	} else if err != nil {
		return it, nil, fmt.Errorf("migrate: row %d: %w", row.Line, err)
	}
	prev, err := im.existing(ctx, row, it.Org)
	var ie *Issue
	switch {
	case errors.As(err, &ie):
		return bad(ie.Field, ie.Reason, ie.Message)
	case err != nil:
		return it, nil, fmt.Errorf("migrate: row %d: %w", row.Line, err)
	}
	input, iss := protocolInput(row)
	if iss != nil {
		return bad(iss.Field, iss.Reason, iss.Message)
	}
	c := &sso.Connection{ID: row.ID, OrgID: it.Org, Protocol: row.Protocol, Status: sso.ConnectionDraft, CreatedAt: now}
	if prev != nil {
		cp := *prev
		cp.GroupRoles = slices.Clone(prev.GroupRoles)
		c = &cp
	} else if c.ID == "" {
		c.ID = opaque.NewID("conn_")
	}
	it.ConnectionID = c.ID
	c.DisplayName = row.Name
	if row.Mapping != nil {
		c.Mapping = sso.AttributeMapping(*row.Mapping)
	}
	if _, err := cf.ConfigureConnection(ctx, c, input); err != nil {
		if iss := configureIssue(err); iss != nil {
			return bad(iss.Field, iss.Reason, iss.Message)
		}
		return it, nil, fmt.Errorf("migrate: row %d: %w", row.Line, err)
	}
	if c.ID != it.ConnectionID || c.OrgID != it.Org || c.Protocol != row.Protocol {
		return it, nil, errors.New("migrate: configurer changed the connection's identity")
	}
	it.SP = cf.SPDetails(c)
	if prev == nil {
		it.Action = Create
		c.UpdatedAt = now
		return it, c, nil
	}
	it.Changes = changes(cf, prev, c)
	if len(it.Changes) == 0 {
		it.Action = Unchanged
		return it, nil, nil
	}
	it.Action = Update
	if slices.Contains(it.Changes, "config") {
		// New IdP trust must be proven again, as after an admin's edit.
		if c.Status == sso.ConnectionActive {
			c.Status = sso.ConnectionDraft
			it.Changes = append(it.Changes, "status")
		}
		c.LastTestOK, c.LastTest = time.Time{}, nil
	}
	return it, c, nil
}

// existing finds the connection a row updates: by ID (which must belong
// to the row's organization and protocol), else by name in the
// organization (which must be unambiguous). It returns nil for a new one
// and an *Issue for a row that cannot be matched.
func (im *Importer) existing(ctx context.Context, row *Row, org string) (*sso.Connection, error) {
	if row.ID != "" {
		c, err := im.Store.GetConnection(ctx, row.ID)
		switch {
		case errors.Is(err, sso.ErrNotFound):
			return nil, nil
		case err != nil:
			return nil, err
		case c.OrgID != org:
			// The same answer as for an ID in use elsewhere: never reveal
			// another organization's records.
			return nil, &Issue{Field: "id", Reason: "id_in_use", Message: "this connection ID is taken: leave id out to get a new one"}
		case c.Protocol != row.Protocol:
			return nil, &Issue{Field: "protocol", Reason: "protocol_mismatch", Message: "the connection uses " + string(c.Protocol) + ": a connection's protocol cannot change"}
		}
		return c, nil
	}
	conns, err := im.Store.ListConnections(ctx, org)
	if err != nil {
		return nil, err
	}
	var found *sso.Connection
	for _, c := range conns {
		if c.DisplayName != row.Name {
			continue
		}
		if found != nil {
			return nil, &Issue{Field: "name", Reason: "ambiguous_name", Message: "several connections of the organization have this name: add the id column"}
		}
		found = c
	}
	if found != nil && found.Protocol != row.Protocol {
		return nil, &Issue{Field: "protocol", Reason: "protocol_mismatch", Message: "the connection named so uses " + string(found.Protocol) + ": a connection's protocol cannot change"}
	}
	return found, nil
}

// Error implements error, so an Issue can travel as one.
func (i *Issue) Error() string { return "migrate: " + i.Field + ": " + i.Message }
