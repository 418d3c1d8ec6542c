// Package sqlnotify carries session revocations between the replicas that
// share a PostgreSQL database, with LISTEN/NOTIFY: [Bus] implements
// session.RevocationBus. It publishes through the host's *sql.DB (any
// PostgreSQL driver) and listens on one dedicated pgx connection per
// subscriber, since a pooled *sql.DB connection cannot wait for
// notifications.
//
//	bus, err := sqlnotify.New(sqlnotify.Config{DB: db, DSN: dsn})
//	m, err := session.New(session.Config{..., Revocations: st, RevocationBus: bus})
//	go m.Run(ctx) // listens, and reconnects after a failure
//
// # Delivery
//
// PostgreSQL delivers a notification to every session listening on the
// channel in the same database when the publishing statement commits; a
// listener that is disconnected misses it. The session Manager therefore
// drops its revocation cache whenever it listens again, and caches for only
// session.Config.RevocationFallbackTTL while it does not. An idle LISTEN
// connection is checked every Config.PingInterval, so a connection that
// died silently is noticed within about twice that.
//
// Channels are per database, not per schema: hosts (or tests) that keep
// several independent deployments in one database give each its own
// Config.Channel.
package sqlnotify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// Defaults of Config.
const (
	DefaultChannel      = "ssokit_revocations"
	DefaultPingInterval = 10 * time.Second
)

// maxPayload is below PostgreSQL's 8000-byte NOTIFY payload limit.
const maxPayload = 7900

// Config configures a Bus.
type Config struct {
	// DB publishes notifications (SELECT pg_notify). Required.
	DB *sql.DB
	// DSN is the PostgreSQL connection string (URL or key=value) of the
	// LISTEN connection, normally the one DB was opened with. Required
	// unless ConnConfig is set.
	DSN string
	// ConnConfig replaces DSN, for hosts that build their pgx configuration
	// in code (TLS, password callbacks). It is copied, never modified.
	ConnConfig *pgx.ConnConfig
	// Channel is the notification channel; every replica of one deployment
	// uses the same. Zero means "ssokit_revocations".
	Channel string
	// PingInterval is how long a LISTEN connection may stay silent before
	// it is pinged. Zero means 10 seconds.
	PingInterval time.Duration
}

// Bus is a session.RevocationBus on PostgreSQL LISTEN/NOTIFY. It holds no
// connection of its own outside Subscribe, and needs no Close. It is safe
// for concurrent use.
type Bus struct {
	db      *sql.DB
	conn    *pgx.ConnConfig
	channel string
	listen  string
	ping    time.Duration
}

var _ session.RevocationBus = (*Bus)(nil)

// New validates cfg and returns a Bus. It does not connect.
func New(cfg Config) (*Bus, error) {
	var errs []error
	if cfg.DB == nil {
		errs = append(errs, errors.New("DB is required"))
	}
	conn := cfg.ConnConfig
	switch {
	case conn != nil && cfg.DSN != "":
		errs = append(errs, errors.New("set DSN or ConnConfig, not both"))
	case conn == nil && cfg.DSN == "":
		errs = append(errs, errors.New("DSN or ConnConfig is required"))
	case conn == nil:
		var err error
		if conn, err = pgx.ParseConfig(cfg.DSN); err != nil {
			// The parse error may quote the DSN, password included.
			errs = append(errs, errors.New("DSN is not a valid PostgreSQL connection string"))
		}
	}
	if cfg.PingInterval < 0 {
		errs = append(errs, errors.New("PingInterval must not be negative"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: sqlnotify: %w", sso.ErrInvalidConfig, errors.Join(errs...))
	}
	b := &Bus{db: cfg.DB, conn: conn.Copy(), channel: cfg.Channel, ping: cfg.PingInterval}
	if b.channel == "" {
		b.channel = DefaultChannel
	}
	if b.ping == 0 {
		b.ping = DefaultPingInterval
	}
	b.listen = "LISTEN " + pgx.Identifier{b.channel}.Sanitize()
	return b, nil
}

// Channel returns the notification channel.
func (b *Bus) Channel() string { return b.channel }

// Publish implements session.RevocationBus with one pg_notify statement.
func (b *Bus) Publish(ctx context.Context, subject string) error {
	if len(subject) > maxPayload {
		return fmt.Errorf("%w: sqlnotify: subject of %d bytes", sso.ErrInvalidInput, len(subject))
	}
	if _, err := b.db.ExecContext(ctx, "SELECT pg_notify($1, $2)", b.channel, subject); err != nil {
		return fmt.Errorf("%w: sqlnotify: notify: %w", sso.ErrUnavailable, err)
	}
	return nil
}

// Subscribe implements session.RevocationBus on a new connection, closed
// when it returns. Its failures wrap sso.ErrUnavailable.
func (b *Bus) Subscribe(ctx context.Context, fn func(subject string)) error {
	conn, err := pgx.ConnectConfig(ctx, b.conn.Copy())
	if err != nil {
		return b.fail(ctx, "connect", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		conn.Close(cctx)
		cancel()
	}()
	if _, err := conn.Exec(ctx, b.listen); err != nil {
		return b.fail(ctx, "listen", err)
	}
	fn("")
	for {
		wctx, cancel := context.WithTimeout(ctx, b.ping)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			fn(n.Payload)
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case conn.IsClosed() || !errors.Is(wctx.Err(), context.DeadlineExceeded):
			return b.fail(ctx, "wait", err)
		}
		// Silent for PingInterval: prove the connection alive. A
		// notification arriving meanwhile is buffered by pgx and returned
		// by the next wait.
		pctx, cancel := context.WithTimeout(ctx, b.ping)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			return b.fail(ctx, "ping", err)
		}
	}
}

func (b *Bus) fail(ctx context.Context, step string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("%w: sqlnotify: %s: %w", sso.ErrUnavailable, step, err)
}
