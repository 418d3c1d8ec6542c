// Package scim is a SCIM 2.0 service provider (RFC 7643, RFC 7644) for
// directory sync: an organization's IdP (Okta, Microsoft Entra ID, ...)
// creates, updates and deactivates its users and groups in the host
// application.
//
// A SCIM user is a core [sso.User] with an [sso.Membership] in one
// organization (Source sso.SourceSCIM, ExternalID = the directory's
// externalId); the SCIM attributes live in this package's [User] record.
// Groups are per organization, and their members' roles are computed from
// the group display names through the organization's connections'
// GroupRoles ([sso.Connection.RolesFor]).
//
// # Mounting
//
//	h, err := scim.New(scim.Config{
//		Store:   sqlscim.New(st), // sqlscim or memscim on the core store, or your own scim.Store
//		Core:    st,              // the core store
//		Revoker: sessions,        // session.Manager
//		BaseURL: must(url.Parse("https://app.example.com/scim/v2")),
//	})
//	mux.Handle("/scim/v2/", http.StripPrefix("/scim/v2", h))
//
// The handler serves /Users, /Groups (GET, POST, PUT, PATCH, DELETE, and
// POST /.search), POST /.search, /ServiceProviderConfig, /Schemas and
// /ResourceTypes. Every response is application/scim+json; every error is
// the RFC 7644 §3.12 error JSON with status and scimType, never a
// stack trace or an internal message.
//
// # Storage
//
// A host implements [UserStore] and [GroupStore], and for large
// organizations [Seeker] (or uses store/memstore/memscim or
// store/sqlstore/sqlscim), and proves it with store/storetest.
// Filters are parsed here ([ParseFilter]) into a small AST over an
// allow-list of attributes; sqlscim turns it into parameterised SQL on
// indexed, lower-cased columns and memscim evaluates it with [MatchUser],
// so no list request loads an organization's users into memory. Group
// member changes are deltas applied inside the store, so concurrent
// PATCHes of one group lose no member.
//
// # Pagination
//
// Lists and searches page by index as RFC 7644 §3.4.2.4 defines it
// (startIndex, count; at most Config.MaxResults per page), in ID order, or
// sorted with sortBy and sortOrder (RFC 7644 §3.4.2.3; see [SortAttr]) in
// the store's query. A walk of a sorted list continues after its previous
// page's sort key, as below; a jump to a deep sorted page skips from the
// start.
// When the Store also implements [Seeker] (memscim and sqlscim do), pages
// are read by key and the cost of a page does not grow with the size of
// the organization:
//
//   - A client that walks a list (startIndex = previous startIndex +
//     itemsPerPage, as Okta and Entra do) continues exactly after the last
//     resource of its previous page: every resource that exists
//     throughout the walk is returned exactly once, none twice, even when
//     resources are created or deleted between pages. This holds for the
//     pages one Handler serves (one replica, or sticky routing), per
//     bearer token, for pauses of up to 10 minutes between pages; a page
//     served by another replica is found by position, like any jump.
//   - Any other startIndex selects the resource at that position (exact as
//     of the last count, see below).
//   - startIndex beyond the last match answers an empty page with
//     totalResults; count=0 answers totalResults alone.
//   - totalResults is the number of matches. A list with fewer than 1000
//     matches is counted on every request. A larger one is counted on the
//     first request and reused for Config.TotalCacheTTL (10s by default)
//     by the same Handler; a write through that Handler to the
//     organization ends the reuse at once, while writes through other
//     replicas, or made in the store directly, show in the total (and in
//     the positions of jumps) within TotalCacheTTL. A negative
//     TotalCacheTTL counts on every request.
//
// Without a Seeker the Handler calls [UserStore.ListUsersSCIM] and
// [GroupStore.ListGroupsSCIM], which count and skip on every request.
//
// # Security
//
//   - Authentication: per-organization bearer tokens (see
//     [scimtoken.Issue], [scimtoken.Rotate]), stored as hashes and
//     compared in constant time. The token selects the organization; a
//     resource of another organization answers 404, filters only ever see
//     the token's organization, and group members must be users of it.
//   - Deactivation (DELETE or active=false) sets the membership to
//     deactivated (data kept) and ends the member's sessions and API
//     tokens in the organization ([sso.OrgSessionRevoker]) before the
//     response; their sessions in other organizations keep working. When
//     revocation fails the client gets 503 and its retry revokes again.
//     Re-activation restores the membership.
//   - Roles follow the directory: after a change of a member's groups
//     (and so roles) or status is stored, Config.Sync
//     ([sso.MembershipSyncer]) updates their live sessions and tokens; a
//     member who lost a role and could not be synced is signed out. When
//     that revocation fails too the client gets 503, and since its retry
//     finds the roles already changed, stack's Run ends those sessions at
//     its next sweep (session.Manager.Reconcile).
//   - Concurrent writes: a PATCH or PUT without If-Match never answers
//     412; it is re-applied to the current version when another write won
//     the race. Only a stale If-Match is a 412.
//   - Text is UTF-8: a string that is not (raw invalid bytes, unpaired
//     surrogate escapes) is refused with invalidValue naming the
//     attribute, never stored with U+FFFD in its place.
//   - Email verification (T-M.10): a user's email counts as verified only
//     when its domain is one of the organization's verified domains. A
//     create adopts an existing member with the same email only when that
//     member's email was verified; otherwise it creates a separate user.
//   - Bounded work: bodies are limited (Config.MaxBodyBytes), filters to
//     [MaxFilterLength] bytes and [MaxFilterDepth] levels, PATCH operations
//     and member lists per request, page sizes to Config.MaxResults, and a
//     user's stored attributes to [MaxUserBytes] (PATCH adds to them).
//   - Requests are rate limited per organization (Config.RateLimit, in
//     process by default; [NewStoreLimiter] shares the budget between
//     replicas) and answered 429 with Retry-After when over.
//   - Filters with personal data may be sent in POST /.search bodies; the
//     handler logs only method, path and status, never query strings.
//   - Every change is an audit event (sso.EventSCIM*) with the token as
//     actor, and is reported to Config.Hooks.
//
// # Interoperability
//
// Okta and Entra quirks are accepted: capitalised op names ("Replace"),
// booleans sent as "True"/"False", value-filtered paths such as
// emails[type eq "work"].value (creating the element when missing),
// path-less PATCH with a value map of dotted or URN-qualified keys, the
// enterprise manager as a bare string or an object, extra group schema
// URNs, and Okta's userName eq lookup before create. Group PATCH answers
// 204 No Content. Entra's filter emails[type eq "work"].value eq "x"
// means emails[type eq "work" and value eq "x"].
//
// The enterprise User extension is validated, stored and filterable (its
// attributes named with the extension's URN). Any other extension schema a
// client sends (a customer-defined "urn:..." object) is stored as sent,
// returned and changed by PATCH, but not filterable; listing them in
// Config.UserSchemaExtensions advertises them. POST /.search treats an
// attribute that only Users or only Groups have as absent on the other.
//
// # Sync status
//
// When the Store implements [StatusStore] (memscim and sqlscim do), the
// Handler records each token's last use (at most once a minute) and each
// authenticated organization's recent failed requests, and
// [Handler.SyncStatus] reports them with the numbers of users and groups
// for an admin portal.
package scim
