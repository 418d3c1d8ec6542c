package mfa

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// OathtoolEnv, set to 1, makes a missing oathtool binary a test failure
// instead of a skip. CI sets it after .ci/install-mfa.sh.
const OathtoolEnv = "SSOKIT_TEST_OATHTOOL"

func oathtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("oathtool")
	if err != nil {
		if os.Getenv(OathtoolEnv) == "1" {
			t.Fatalf("%s=1 but oathtool is not installed: run .ci/install-mfa.sh", OathtoolEnv)
		}
		t.Skipf("oathtool not installed; skipping the TOTP cross-check (run .ci/install-mfa.sh, and set %s=1 to require it)", OathtoolEnv)
	}
	return path
}

func runOathtool(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("oathtool %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestT_T1_Oathtool cross-checks generation and validation against the
// OATH Toolkit reference implementation: the RFC 6238 vectors for all three
// hashes, and random 160-bit seeds at random times in the app format.
func TestT_T1_Oathtool(t *testing.T) {
	bin := oathtool(t)
	t.Parallel()
	for _, hc := range hashCases {
		for i, v := range rfc6238Vectors {
			alg := strings.ToLower(hc.name)
			got := runOathtool(t, bin, "--totp="+alg, "-b", b32.EncodeToString(hc.seed), "-d", "8", "-N", fmt.Sprintf("@%d", v.unix))
			if got != hc.code(i) {
				t.Errorf("oathtool %s at %d: %q, RFC 6238 says %q", hc.name, v.unix, got, hc.code(i))
			}
		}
	}
	for i := range 8 {
		seed := make([]byte, SecretSize)
		rand.Read(seed)
		var b [4]byte
		rand.Read(b[:])
		at := time.Unix(int64(b[0])<<24|int64(b[1])<<16|int64(b[2])<<8|int64(b[3]), 0)
		want := runOathtool(t, bin, "--totp", "-b", b32.EncodeToString(seed), "-N", fmt.Sprintf("@%d", at.Unix()))
		got, err := defaultTOTP.codeAt(seed, at)
		if err != nil || got != want {
			t.Errorf("seed #%d at %d: ssokit %q (%v), oathtool %q", i, at.Unix(), got, err, want)
		}
		if step, ok, err := defaultTOTP.matchStep(seed, want, at); err != nil || !ok || step != at.Unix()/30 {
			t.Errorf("seed #%d: oathtool's code %q not accepted at its step: %d %v %v", i, want, step, ok, err)
		}
		// The window: oathtool's code for the next step is accepted, two
		// steps ahead is not.
		next := runOathtool(t, bin, "--totp", "-b", b32.EncodeToString(seed), "-N", fmt.Sprintf("@%d", at.Unix()+30))
		if _, ok, _ := defaultTOTP.matchStep(seed, next, at); !ok {
			t.Errorf("seed #%d: next step's code %q rejected", i, next)
		}
		far := runOathtool(t, bin, "--totp", "-b", b32.EncodeToString(seed), "-N", fmt.Sprintf("@%d", at.Unix()+90))
		if _, ok, _ := defaultTOTP.matchStep(seed, far, at); ok && far != want && far != next {
			t.Errorf("seed #%d: code %q three steps ahead accepted", i, far)
		}
	}
}
