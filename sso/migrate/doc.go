// Package migrate imports SSO connections from another SP (a vendor or a
// home-grown one) without reconfiguring the customers' IdPs: each row
// keeps the SP entity ID and ACS URL (SAML) or redirect URI (OIDC) the IdP
// already has, with the IdP's metadata, the attribute mapping and the
// organization.
//
// # Procedure
//
//  1. Export the old SP's connections as JSON or CSV rows ([Row]; see
//     [ParseJSON] and [ParseCSV] for the columns).
//  2. Mount the SAML handler on every path the old ACS URLs use
//     (saml.Config.ExtraACSURLs) and the OIDC handler on the old redirect
//     URIs' paths.
//  3. Run the import as a dry run ([Options].DryRun, or POST
//     /connections/import?dry_run=true on the admin API): the plan says
//     per row create, update, unchanged or invalid, names each invalid
//     field and every clash (with stored connections or between rows),
//     and shows the SP side each connection will have. Nothing is written.
//  4. Run it for real. A plan with an invalid row writes nothing
//     ([ErrInvalidPlan]). Connections are created as drafts; an update
//     that changes an active connection's IdP configuration returns it to
//     draft. Test each connection, activate it, then move the DNS or the
//     routes from the old SP. Running the same import again changes
//     nothing.
//
// Rows are matched to stored connections by their id column when given,
// else by organization and name. A protocol column left empty keeps the
// connection's setting.
//
// # Example
//
//	rows, err := migrate.ParseCSV(file)
//	im := &migrate.Importer{Store: st, Configurers: map[sso.Protocol]sso.ConnectionConfigurer{saml.Protocol: sp, oidc.Protocol: rp}}
//	plan, err := im.Run(ctx, rows, migrate.Options{OrgID: orgID, DryRun: true})
//
// # Security
//
// Every row goes through the protocol package's own validation (the same
// as an admin's edit: SSRF-guarded metadata fetches, certificate parsing,
// endpoint uniqueness). [Options].OrgID confines an import to one
// organization, and a row naming a connection ID of another organization
// is refused without saying whose it is.
package migrate
