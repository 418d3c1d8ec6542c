package sso_test

import (
	"slices"
	"testing"

	"github.com/ssokit/ssokit/sso"
)

func TestMappedRoles(t *testing.T) {
	for _, tc := range []struct {
		name            string
		mapped, current []string
		mapsOwner       bool
		want            []string
	}{
		{"an owner through a mapping that does not name owner keeps it", []string{"admin"}, []string{"owner", "admin"}, false, []string{"admin", "owner"}},
		{"a mapping that names owner manages it", []string{"admin"}, []string{"owner", "admin"}, true, []string{"admin"}},
		{"a mapping never adds owner by itself", []string{"member"}, []string{"admin"}, false, []string{"member"}},
		{"mapped to owner already", []string{"owner"}, []string{"owner"}, false, []string{"owner"}},
		{"a new member", []string{"member"}, nil, false, []string{"member"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mapped := slices.Clone(tc.mapped)
			if got := sso.MappedRoles(mapped, tc.current, tc.mapsOwner); !slices.Equal(got, tc.want) {
				t.Fatalf("MappedRoles(%v, %v, %v) = %v, want %v", tc.mapped, tc.current, tc.mapsOwner, got, tc.want)
			}
			if !slices.Equal(mapped, tc.mapped) {
				t.Fatalf("MappedRoles changed its argument: %v", mapped)
			}
		})
	}
	if !sso.SameRoles([]string{"a", "b"}, []string{"b", "a"}) || sso.SameRoles([]string{"a"}, []string{"a", "b"}) || sso.SameRoles([]string{"a", "c"}, []string{"a", "b"}) {
		t.Fatal("SameRoles")
	}
}
