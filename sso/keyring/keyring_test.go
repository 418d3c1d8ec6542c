package keyring_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/keyring"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// TestRotation: values sealed under an old primary still open after a new
// primary is added, say they need resealing, and stop opening (with
// ErrUnknownKey) once the old key leaves the ring.
func TestRotation(t *testing.T) {
	old, err := keyring.New("k1", map[string][]byte{"k1": key(1)})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := old.Seal([]byte("client-secret"), []byte("conn_1"))
	if err != nil {
		t.Fatal(err)
	}
	both, _ := keyring.New("k2", map[string][]byte{"k1": key(1), "k2": key(2)})
	if got, err := both.Open(sealed, []byte("conn_1")); err != nil || string(got) != "client-secret" {
		t.Fatalf("open under the rotated ring = %q, %v", got, err)
	}
	if !both.NeedsReseal(sealed) {
		t.Fatal("a value under the old primary does not ask for resealing")
	}
	fresh, _ := both.Seal([]byte("client-secret"), []byte("conn_1"))
	if both.NeedsReseal(fresh) || !strings.HasPrefix(fresh, "v1.k2.") {
		t.Fatalf("fresh value %q", fresh)
	}
	onlyNew, _ := keyring.New("k2", map[string][]byte{"k2": key(2)})
	if _, err := onlyNew.Open(sealed, []byte("conn_1")); !errors.Is(err, keyring.ErrUnknownKey) {
		t.Fatalf("old value after the old key left: %v, want ErrUnknownKey", err)
	}
}

// TestOpenRefuses: a value moved to another record, tampered with or
// malformed is refused with ErrInvalidInput, never opened.
func TestOpenRefuses(t *testing.T) {
	k, _ := keyring.New("k1", map[string][]byte{"k1": key(1)})
	sealed, _ := k.Seal([]byte("seed"), []byte("usr_1"))
	flip := []byte(sealed)
	flip[len(flip)-2] ^= 1
	for name, v := range map[string]string{"other record": sealed, "tampered": string(flip), "malformed": "v1.k1",
		"not base64": "v1.k1.!!!", "empty": ""} {
		ad := "usr_1"
		if name == "other record" {
			ad = "usr_2"
		}
		if got, err := k.Open(v, []byte(ad)); !errors.Is(err, sso.ErrInvalidInput) || got != nil {
			t.Errorf("%s: got %q, %v; want ErrInvalidInput", name, got, err)
		}
	}
}

// TestNewRefusesBadKeys: short keys, a primary missing from the ring and
// bad key IDs are configuration errors.
func TestNewRefusesBadKeys(t *testing.T) {
	for name, tc := range map[string]struct {
		primary string
		keys    map[string][]byte
	}{
		"short key":       {"k1", map[string][]byte{"k1": key(1)[:16]}},
		"missing primary": {"k9", map[string][]byte{"k1": key(1)}},
		"dot in ID":       {"k.1", map[string][]byte{"k.1": key(1)}},
	} {
		if _, err := keyring.New(tc.primary, tc.keys); !errors.Is(err, sso.ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", name, err)
		}
	}
}

func ExampleNew() {
	k, err := keyring.New("2026-12", map[string][]byte{"2026-12": bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		panic(err)
	}
	sealed, _ := k.Seal([]byte("s3cret"), []byte("conn_42"))
	plain, _ := k.Open(sealed, []byte("conn_42"))
	fmt.Println(string(plain), strings.HasPrefix(sealed, "v1.2026-12."))
	// Output: s3cret true
}
