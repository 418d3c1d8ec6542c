package scim

import (
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// TestDeepBodyIsRefusedCheaply: a body of nested brackets within
// MaxBodyBytes is refused as invalidSyntax before it costs memory in
// proportion to its depth (a megabyte of "[" took some 180 MB to refuse),
// while a body as deep as encoding/json decodes is still read.
func TestDeepBodyIsRefusedCheaply(t *testing.T) {
	read := func(body string) (map[string]any, error, uint64) {
		t.Helper()
		r, err := http.NewRequest("POST", "/Users", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m, err := readObject(r)
		runtime.ReadMemStats(&after)
		return m, err, after.TotalAlloc - before.TotalAlloc
	}
	for name, body := range map[string]string{
		"arrays":  `{"a":` + strings.Repeat("[", DefaultMaxBodyBytes-8),
		"objects": strings.Repeat(`{"a":`, DefaultMaxBodyBytes/5),
	} {
		_, err, alloc := read(body)
		var br *badRequest
		if !errors.As(err, &br) || br.scimType != "invalidSyntax" || !strings.Contains(br.detail, "nested deeper") {
			t.Errorf("%s: error %v, want invalidSyntax naming the nesting", name, err)
		}
		if alloc > 32<<20 {
			t.Errorf("%s: refusing a %d-byte body allocated %d MB", name, len(body), alloc>>20)
		}
	}
	deepest := `{"a":` + strings.Repeat("[", maxJSONDepth-1) + strings.Repeat("]", maxJSONDepth-1) + `}`
	if m, err, _ := read(deepest); err != nil || m["a"] == nil {
		t.Fatalf("a body %d levels deep: %v, %v", maxJSONDepth, m, err)
	}
	if _, err, _ := read(`{"a":[` + deepest + `]}`); err == nil {
		t.Fatal("a body deeper than encoding/json decodes was read")
	}
}
