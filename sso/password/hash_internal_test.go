package password

import (
	"crypto/rand"
	"strings"
	"testing"
)

func TestHashPHCRoundTrip(t *testing.T) {
	t.Parallel()
	p := Params{Time: 2, MemoryKiB: 256, Threads: 2, KeyLen: 32, SaltLen: 16}
	h, err := hashPassword("pässwörd phrase", p, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=256,t=2,p=2$") {
		t.Fatalf("hash %q does not record its parameters", h)
	}
	ok, got, err := verifyHash("pässwörd phrase", h)
	if err != nil || !ok || got != p {
		t.Errorf("verify: %v %+v %v; want true %+v", ok, got, err, p)
	}
	if ok, _, _ := verifyHash("pässwörd phrasE", h); ok {
		t.Error("a different password verified")
	}
	h2, _ := hashPassword("pässwörd phrase", p, rand.Reader)
	if h2 == h {
		t.Error("two hashes of one password share a salt")
	}
}

func TestParseHashRefusesMalformed(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1,x=2$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$!!$a2V5"} {
		if _, _, _, err := parseHash(s); err == nil {
			t.Errorf("parseHash(%q) accepted", s)
		}
	}
}

func TestWeakerThan(t *testing.T) {
	t.Parallel()
	base := Params{Time: 3, MemoryKiB: 65536, Threads: 2, KeyLen: 32, SaltLen: 16}
	for _, tc := range []struct {
		p    Params
		want bool
	}{
		{base, false},
		{Params{Time: 2, MemoryKiB: 65536, Threads: 2, KeyLen: 32, SaltLen: 16}, true},
		{Params{Time: 3, MemoryKiB: 19456, Threads: 2, KeyLen: 32, SaltLen: 16}, true},
		{Params{Time: 4, MemoryKiB: 131072, Threads: 4, KeyLen: 32, SaltLen: 16}, false},
	} {
		if got := tc.p.weakerThan(base); got != tc.want {
			t.Errorf("%+v weakerThan %+v = %v, want %v", tc.p, base, got, tc.want)
		}
	}
}
