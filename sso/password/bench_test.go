package password

import (
	"crypto/rand"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// benchParams are DefaultParams: the figure a host sees per login.
var benchParams = DefaultParams

// BenchmarkVerify measures verifyHash, which parses the PHC string and
// derives the key, at DefaultParams.
func BenchmarkVerify(b *testing.B) {
	h, err := hashPassword("correct horse battery staple", benchParams, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, _ := verifyHash("correct horse battery staple", h); !ok {
			b.Fatal("no match")
		}
	}
}

// BenchmarkBareIDKey is argon2.IDKey alone with the same parameters: the
// floor BenchmarkVerify is compared with.
func BenchmarkBareIDKey(b *testing.B) {
	salt := make([]byte, benchParams.SaltLen)
	_, _ = rand.Read(salt)
	p := benchParams
	b.ReportAllocs()
	for b.Loop() {
		argon2.IDKey([]byte("correct horse battery staple"), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	}
}

// BenchmarkVerifyVsBare alternates verifyHash and a bare argon2.IDKey with
// the same parameters in one loop, so that load on a shared machine hits
// both alike, and reports their ratio (verify/bare).
func BenchmarkVerifyVsBare(b *testing.B) {
	const pw = "correct horse battery staple"
	h, err := hashPassword(pw, benchParams, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	p, salt, _, _ := parseHash(h)
	var verify, bare time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		if ok, _, _ := verifyHash(pw, h); !ok {
			b.Fatal("no match")
		}
		t1 := time.Now()
		argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
		bare += time.Since(t1)
		verify += t1.Sub(t0)
	}
	b.ReportMetric(float64(verify)/float64(bare), "verify/bare")
	b.ReportMetric(float64(verify.Nanoseconds())/float64(b.N), "verify-ns/op")
	b.ReportMetric(float64(bare.Nanoseconds())/float64(b.N), "bare-ns/op")
}
