// Package saml is a multi-tenant SAML 2.0 service provider for ssokit, built
// on github.com/russellhaering/gosaml2 and github.com/russellhaering/goxmldsig.
//
// One [SP] serves every SAML connection of every organization. Each
// connection is its own SP entity: its entity ID, ACS and SLO URLs derive
// from [Config.BaseURL] and the connection ID. The SP meets [sso.Starter]
// (discovery routes logins to it) and [sso.ConnectionConfigurer] (the admin
// API configures connections from metadata XML, a metadata URL or manual
// fields), and hands verified profiles to an [sso.Completer]. It never
// creates users or sessions itself.
//
// # Mounting
//
//	sp, err := saml.New(saml.Config{
//		BaseURL:     base, // https://app.example.com/sso/saml
//		Key:         &saml.KeyPair{Key: key, Certificate: cert},
//		Connections: st, Store: sqlsaml.New(st), Events: st, // st: *sqlstore.Store
//		Completer:   flow,
//	})
//	mux.Handle("/sso/saml/", http.StripPrefix("/sso/saml", sp))
//	go sp.Run(ctx) // metadata refresh and certificate-expiry events
//
// Routes (relative): GET /metadata/{connection}, GET /login/{connection},
// POST /acs/{connection}, GET and POST /slo/{connection}. The single
// endpoints are exported as [SP.ServeMetadata], [SP.ServeLogin],
// [SP.ServeACS] and [SP.ServeSLO].
//
// # Keeping an IdP's existing SP registration
//
// A connection moved from another SP may keep the entity ID and ACS URL
// its IdP already has ([ConnectionConfig.SPEntityID] and
// [ConnectionConfig.ACSURL], admin settings sp_entity_id and acs_url):
// AuthnRequests, logout messages and the connection's metadata carry
// them, the Audience must equal that entity ID and Destination/Recipient
// that ACS URL. The ACS URL must be on BaseURL's host (the login cookie is
// sent there only), under BaseURL or a [Config.ExtraACSURLs] prefix the
// host mounts this handler on, and unique among all SAML connections; a
// POST to its path is for that connection and the connection's default
// ACS route refuses its responses. Stores that implement
// [ConnectionLister] let the uniqueness check and the routing see
// connections in any status. Package sso/migrate imports such
// connections in bulk.
//
// The IdP may also know the old SP's single logout URL and fetch SP
// metadata from an old URL: [ConnectionConfig.SPSLOURL] and
// [ConnectionConfig.SPMetadataURL] (sp_slo_url, sp_metadata_url) follow
// the rules of the ACS URL. The metadata publishes the SLO URL, logout
// messages must be addressed to it and are refused at the default SLO
// route, and a GET of the metadata URL's path serves the connection's
// metadata. No path serves two endpoints or two connections: a store
// implementing [EndpointClaimer] (memsaml, sqlsaml) holds one claim per
// path, so two connections saved at once cannot both take one, and a path
// under the SP's own routes is refused.
//
// # Storage
//
// The SAML state lives behind [Store] ([RequestStore], [ReplayCache],
// [MetadataCache]); store/memstore/memsaml and store/sqlstore/sqlsaml
// implement it and store/storetest checks any implementation. A login may start on one
// replica and finish on another.
//
// # Security
//
// The ACS pipeline, in order: a bounded body (MaxResponseBytes), base64, a
// streaming structural scan that refuses DTDs, directives, deep nesting,
// excessive namespaces and tokens, duplicate IDs, comments inside an
// Assertion, SAML elements in foreign namespaces, repeated singleton
// elements, Signatures anywhere but directly on the Response or Assertion,
// SignedInfo with other than exactly one Reference to its parent's ID,
// SHA-1 (unless [ConnectionConfig.AllowSHA1]), rsa-1_5 key transport
// (unless [ConnectionConfig.AllowRSA15KeyTransport]), and any count of
// assertions other than one; then gosaml2's XML round-trip
// validation, goxmldsig signature verification and decryption; and only
// then the checks on the verified element: issuer, bearer subject
// confirmation with this connection's ACS as Recipient, Destination,
// AudienceRestriction present and naming this connection's entity ID
// (gosaml2 warnings are fatal), NotBefore/NotOnOrAfter with
// [Config.MaxClockSkew], InResponseTo bound to the browser that started the
// login through a server-side request record and a SameSite=None, Secure,
// HttpOnly cookie (single use), and the assertion-ID replay cache. The
// Web Browser SSO profile is enforced where the specification is strict:
// Response and Assertion Version "2.0", an AuthnStatement in the assertion
// (SAML Profiles 4.1.4.2), its SessionNotOnOrAfter not passed (it is handed
// on as [sso.Profile.SessionNotOnOrAfter] so that the session never outlives
// it), and no empty Destination on a signed Response.
// Assertions must be signed unless the connection sets
// AllowResponseSignatureOnly; unsolicited responses are refused unless it
// sets AllowIdPInitiated, and then they must be recent and RelayState is
// only used as a safe relative path. Every rejection is an
// *[sso.ValidationError] with a stable Reason (the Reason* constants),
// reported to [sso.Completer.Fail] and rendered by [Config.ErrorHandler]
// without internal details.
//
// Interoperability choices, each covered by a test: every
// AudienceRestriction must name this connection (SAML Core 2.5.1.4) and
// Audience values are compared with surrounding whitespace removed;
// Conditions NotBefore/NotOnOrAfter are optional (the bearer
// SubjectConfirmationData NotOnOrAfter is required) and a NotBefore on it
// is honoured; OneTimeUse is met by the replay cache and ProxyRestriction
// is ignored; a Response without Destination is accepted, signed or not
// (the signed Recipient is checked), while Destination="" is refused on a
// signed Response; time values may carry fractions and
// offsets but need a zone; a successful top-level status decides whatever
// its second-level code; Reference URI="" is accepted only on the Response
// signature; KeyInfo without a certificate is cut (it is an unsigned hint)
// except inside a signed Response, and a signature without a certificate is
// tried against each trusted certificate (rollover without KeyInfo, as
// PingFederate sends); CDATA and character references in signed text are
// read as the text they stand for; base64 values (SignatureValue,
// CipherValue, certificates) may contain whitespace, as XML Schema's
// base64Binary allows: Google Workspace indents and wraps them, and when
// the Response signature covers such a value the Response is verified as
// received before the cleaned document is handed to gosaml2 (DigestValue,
// inside SignedInfo, must be written without spaces); an EncryptedID
// subject is decrypted with the SP key, from the verified assertion.
// Refused: more than one SubjectConfirmation, elements inside NameID,
// Issuer, Audience and AuthnContextClassRef, namespace-qualified ID
// attributes, Assertions in foreign namespaces, and DEFLATE-compressed
// bodies at the ACS (the HTTP-POST binding never compresses). Keycloak
// signs only the Response by default: such connections need
// AllowResponseSignatureOnly or "sign assertions" in Keycloak.
//
// # Certificates
//
// The certificates a connection pins are trust anchors (SAML V2.0 Metadata
// Interoperability Profile): a pinned key verifies responses whatever its
// certificate's validity dates, because many IdPs keep signing with an
// expired self-signed certificate. Such a certificate is named in the
// connection's [ConfigView] Warnings (subject, SHA-256 fingerprint,
// expiry), reported by [SP.ProbeConnection] with its dates, and a login it
// verifies is logged and recorded as [EventExpiredCertificateUsed] once a
// day. [ConnectionConfig.EnforceCertificateDates] refuses it instead
// (ReasonCertificateExpired). A response signed with a certificate that is
// not pinned is refused as ReasonCertificateUntrusted, naming the pinned
// fingerprints (Want) and the response's (Got).
//
// Signed IdP metadata (fetched or pasted) must verify with the pinned
// certificates, and is read from the verified element; a refresh that
// fails keeps the last good copy (ReasonMetadataSignature). Unsigned
// metadata is accepted unless [ConnectionConfig.RequireSignedMetadata].
//
// # Authentication requests
//
// [sso.StartOptions.RequireMFA] sends a RequestedAuthnContext with the
// connection's [ConnectionConfig.MFAAuthnContexts] (default
// [DefaultMFAAuthnContexts]) and Comparison, and the ACS then requires an
// AuthnContextClassRef the connection counts as multi-factor
// (ReasonMFANotPerformed). ForceAuthn, and a positive MaxAge, which implies
// it, send ForceAuthn="true" and require an AuthnInstant after the request
// was made less the skew, or within MaxAge (ReasonAuthnTooOld). What was
// asked is stored with the outstanding request.
//
// # Test logins
//
// An admin's test login (sso.StartOptions.Test) that fails, even before the
// response's signature is verified, is reported to [sso.Completer.Fail]
// with Test set and a fix in the *[sso.ValidationError]'s detail, provided
// the store implements [RequestPeeker] (memsaml and sqlsaml do) and the
// response comes back to the browser that started the test. The admin's
// browser is then sent back to the test's return address (where the
// result is shown), never to the end-user error page. The unverified
// response changes nothing else: the request stays outstanding.
//
// Attribute mapping tries the Default*Attributes names in order by exact
// Name, then ignoring case, then the same by FriendlyName; a connection's
// [sso.AttributeMapping] names one attribute (Name or FriendlyName, exact).
// The email falls back to an email-shaped NameID and then to the UPN claims
// (Entra ID guest #EXT# addresses are turned back into the guest's own).
// Attributes that repeat a Name with the same NameFormat (a missing
// NameFormat counts as "unspecified"), in one AttributeStatement or across
// several, are merged: their values are kept in document order and
// single-valued fields take the first. The same Name with two different
// NameFormats is refused (ReasonAttributeConflict).
//
// # Single logout
//
// [SP.ServeSLO] accepts IdP LogoutRequests and LogoutResponses with the
// HTTP-Redirect and HTTP-POST bindings; every message must be signed. A
// Redirect-binding query is split by hand into its raw parameters: the
// signature is checked over the values exactly as received (SAML Bindings
// 3.4.4.1) and the message is decoded from the same values, and a binding
// parameter that appears twice or whose name is percent-encoded or in
// another case is refused (ReasonLogoutParameter), as is SAMLRequest
// together with SAMLResponse. A message's IssueInstant must be within
// [Config.MaxLogoutAge] plus the skew, NotOnOrAfter (when present) must not
// have passed, and a LogoutRequest's ID is recorded in the replay cache, so
// it is acted on once. A LogoutRequest must name its subject with a NameID
// in the SAML assertion namespace (EncryptedID and BaseID are refused). The SP ends the sessions through [Config.Sessions] (or the
// [Config.OnLogout] hook, which replaces it) and answers Success only when
// a session ended; Success with the second-level status PartialLogout when
// none was found, and Responder/PartialLogout when ending failed or nothing
// is configured to end sessions.
//
// Metadata URLs must be https (unless AllowInsecureURLs) and may not
// reach internal addresses (unless AllowPrivateAddresses): the
// check runs on the IP actually dialed, for every redirect too.
package saml
