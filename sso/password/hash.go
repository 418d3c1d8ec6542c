package password

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id parameters. They are recorded in every hash (PHC
// string format), so a hash verifies with the parameters it was made with
// and is upgraded on the next login when the configured ones are stronger.
type Params struct {
	// Time is the number of passes over memory.
	Time uint32
	// MemoryKiB is the memory cost in KiB.
	MemoryKiB uint32
	// Threads is the degree of parallelism.
	Threads uint8
	// KeyLen is the derived key length in bytes.
	KeyLen uint32
	// SaltLen is the random salt length in bytes.
	SaltLen uint32
}

// DefaultParams are the parameters used when Config.Params is zero:
// argon2id with 64 MiB, 3 passes and 2 lanes, a 32-byte key and a 16-byte
// salt: above the OWASP Password Storage Cheat Sheet's minimum (19 MiB, 2
// passes, 1 lane) and close to RFC 9106's second recommended option (64
// MiB, 3 passes). Each concurrent login holds the memory cost, so size
// it, and the handler's rate limit, for the expected login concurrency.
var DefaultParams = Params{Time: 3, MemoryKiB: 64 * 1024, Threads: 2, KeyLen: 32, SaltLen: 16}

// Limits on parameters read from a stored hash, so a corrupted or hostile
// record cannot make a login allocate without bound.
const (
	maxMemoryKiB = 4 * 1024 * 1024
	maxTime      = 64
	maxKeyLen    = 128
	maxSaltLen   = 64
)

// errMalformedHash reports a stored hash this package cannot read.
var errMalformedHash = errors.New("password: malformed hash")

func (p Params) valid() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("time must be 1..%d", maxTime)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("memory must be at least 8 KiB per thread and at most %d KiB", maxMemoryKiB)
	case p.Threads < 1:
		return errors.New("threads must be at least 1")
	case p.KeyLen < 16 || p.KeyLen > maxKeyLen:
		return fmt.Errorf("key length must be 16..%d bytes", maxKeyLen)
	case p.SaltLen < 16 || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt length must be 16..%d bytes", maxSaltLen)
	}
	return nil
}

// weakerThan reports whether p is weaker than q in any parameter, so a hash
// made with p should be remade with q.
func (p Params) weakerThan(q Params) bool {
	return p.Time < q.Time || p.MemoryKiB < q.MemoryKiB || p.Threads < q.Threads || p.KeyLen < q.KeyLen || p.SaltLen < q.SaltLen
}

// b64 is the PHC string format's base64: standard alphabet, no padding.
var b64 = base64.RawStdEncoding

// hashPassword returns the PHC string of argon2id(pw) with p and a fresh
// salt from rnd:
//
//	$argon2id$v=19$m=65536,t=3,p=2$<salt>$<key>
func hashPassword(pw string, p Params, rnd io.Reader) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(rnd, salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// parseHash reads a PHC argon2id string into its parameters, salt and key.
func parseHash(s string) (Params, []byte, []byte, error) {
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" || f[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, errMalformedHash
	}
	var p Params
	for _, kv := range strings.Split(f[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return Params{}, nil, nil, errMalformedHash
		}
		switch k {
		case "m":
			p.MemoryKiB = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return Params{}, nil, nil, errMalformedHash
			}
			p.Threads = uint8(n)
		default:
			return Params{}, nil, nil, errMalformedHash
		}
	}
	salt, err1 := b64.DecodeString(f[4])
	key, err2 := b64.DecodeString(f[5])
	if err1 != nil || err2 != nil {
		return Params{}, nil, nil, errMalformedHash
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if p.valid() != nil {
		return Params{}, nil, nil, errMalformedHash
	}
	return p, salt, key, nil
}

// verifyHash reports whether pw matches the PHC string, comparing in
// constant time, and returns the hash's parameters.
func verifyHash(pw, encoded string) (bool, Params, error) {
	p, salt, key, err := parseHash(encoded)
	if err != nil {
		return false, Params{}, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, p, nil
}
