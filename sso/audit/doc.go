// Package audit writes, queries, exports and verifies the audit trail: the
// events of each organization, kept by an sso.EventStore as a hash chain
// (see sso.Event.Chain) that an auditor verifies with [Trail.Verify] or
// [VerifyChain], and against a head saved earlier with
// [Trail.VerifyAgainst], which also detects a truncated tail.
//
//	a, err := audit.New(audit.Config{Store: st})
//	err = a.Record(ctx, &sso.Event{OrgID: org.ID, Type: sso.EventRolesChanged})
//	head, err := a.Verify(ctx, org.ID)
//
// # Sealing
//
// A store may seal an event into its chain inside AppendEvent (memstore) or
// store it unsealed and seal it afterwards, in batches (sqlstore), so that a
// burst of events in one organization never queues on the chain's head.
// Such a store is an [EventSealer]; [Trail.Run] seals its pending events
// every Config.SealInterval and should run on every replica (the stack's
// Run does it). Readers never see an unsealed event: the store's
// ListEvents seals the organization it reads first, so Query, the exports
// and Verify cover every event recorded before they were called. Until it
// is sealed, an event is stored but not yet protected by the chain; the
// seal interval bounds that window.
package audit
