package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// kv is the demo's own small table for values every replica must share:
// the development IdP's keys, the SP key, the access-token signing key and
// the demo DNS zone. It is not part of ssokit's schema.
type kv struct{ db *sql.DB }

func (k *kv) init(ctx context.Context) error {
	_, err := k.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS demo_kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)`)
	if err != nil {
		return fmt.Errorf("demo_kv: %w", err)
	}
	return nil
}

func (k *kv) get(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := k.db.QueryRowContext(ctx, `SELECT v FROM demo_kv WHERE k = $1`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return v, true, nil
}

func (k *kv) put(ctx context.Context, key, value string) error {
	_, err := k.db.ExecContext(ctx, `INSERT INTO demo_kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, key, value)
	return err
}

// getOrCreate returns the value under key, creating it with gen when absent.
// When two replicas race, the first insert wins and both read it back.
func (k *kv) getOrCreate(ctx context.Context, key string, gen func() (string, error)) (string, error) {
	if v, ok, err := k.get(ctx, key); err != nil || ok {
		return v, err
	}
	v, err := gen()
	if err != nil {
		return "", err
	}
	if _, err := k.db.ExecContext(ctx, `INSERT INTO demo_kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING`, key, v); err != nil {
		return "", err
	}
	v, _, err = k.get(ctx, key)
	return v, err
}

// demoResolver answers DNS TXT lookups from records published on the demo's
// domains page (stored in demo_kv), so domain verification can be tried
// without owning a domain. Names without a demo record are looked up in the
// real DNS.
type demoResolver struct {
	kv   *kv
	real interface {
		LookupTXT(ctx context.Context, name string) ([]string, error)
	}
}

// LookupTXT implements domains.TXTResolver.
func (d *demoResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	v, ok, err := d.kv.get(ctx, "dns:"+name)
	if err != nil {
		return nil, err
	}
	if ok {
		return []string{v}, nil
	}
	if d.real != nil {
		return d.real.LookupTXT(ctx, name)
	}
	return nil, fmt.Errorf("demo dns: no TXT record for %s", name)
}

// publish stores a TXT record in the demo zone.
func (d *demoResolver) publish(ctx context.Context, name, value string) error {
	return d.kv.put(ctx, "dns:"+name, value)
}
