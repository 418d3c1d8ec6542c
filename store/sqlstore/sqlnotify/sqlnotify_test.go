package sqlnotify_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore/sqlnotify"
)

func TestNewValidates(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t) // any *sql.DB: New does not connect
	cc, err := pgx.ParseConfig("postgres://u@127.0.0.1:5432/db")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  sqlnotify.Config
		want string
	}{
		{"no DB", sqlnotify.Config{DSN: "postgres://u@h/db"}, "DB is required"},
		{"no DSN", sqlnotify.Config{DB: db}, "DSN or ConnConfig is required"},
		{"both", sqlnotify.Config{DB: db, DSN: "postgres://u@h/db", ConnConfig: cc}, "not both"},
		{"bad DSN", sqlnotify.Config{DB: db, DSN: "postgres://u:secret@h:notaport/db"}, "not a valid"},
		{"negative ping", sqlnotify.Config{DB: db, DSN: "postgres://u@h/db", PingInterval: -1}, "PingInterval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sqlnotify.New(tc.cfg)
			if !errors.Is(err, sso.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want ErrInvalidConfig mentioning %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("the error quotes the password: %v", err)
			}
		})
	}
	b, err := sqlnotify.New(sqlnotify.Config{DB: db, ConnConfig: cc})
	if err != nil {
		t.Fatal(err)
	}
	if b.Channel() != sqlnotify.DefaultChannel {
		t.Fatalf("Channel() = %q, want %q", b.Channel(), sqlnotify.DefaultChannel)
	}
}

func TestPublishSubscribe(t *testing.T) {
	t.Parallel()
	db, dsn := testdb.PostgresSchema(t)
	channel := "Ssokit_Test_" + opaque.NewID("") // mixed case: LISTEN and pg_notify must agree
	b, err := sqlnotify.New(sqlnotify.Config{DB: db, DSN: dsn, Channel: channel, PingInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 16)
	done := make(chan error, 1)
	go func() { done <- b.Subscribe(ctx, func(s string) { got <- s }) }()
	next := func() string {
		t.Helper()
		select {
		case s := <-got:
			return s
		case <-time.After(5 * time.Second):
			t.Fatal("nothing delivered within 5 s")
			return ""
		}
	}
	if s := next(); s != "" {
		t.Fatalf("first delivery %q, want the empty subject (listening)", s)
	}
	// Idle past several ping intervals: the connection stays up.
	time.Sleep(200 * time.Millisecond)
	for _, subject := range []string{"user:u1", "session:s1"} {
		if err := b.Publish(context.Background(), subject); err != nil {
			t.Fatal(err)
		}
		if s := next(); s != subject {
			t.Fatalf("delivered %q, want %q", s, subject)
		}
	}
	if err := b.Publish(context.Background(), strings.Repeat("x", 8000)); !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("Publish(8000 bytes) = %v, want ErrInvalidInput", err)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Subscribe = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Subscribe did not return after its context ended")
	}
}

func TestSubscribeUnreachable(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	b, err := sqlnotify.New(sqlnotify.Config{DB: db, DSN: "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=1"})
	if err != nil {
		t.Fatal(err)
	}
	called := false
	err = b.Subscribe(context.Background(), func(string) { called = true })
	if !errors.Is(err, sso.ErrUnavailable) || called {
		t.Fatalf("Subscribe on a dead server = %v (fn called: %v), want ErrUnavailable without a call", err, called)
	}
	if err := b.Publish(context.Background(), "user:u1"); !errors.Is(err, sso.ErrUnavailable) {
		t.Fatalf("Publish through a non-PostgreSQL database = %v, want ErrUnavailable", err)
	}
}
