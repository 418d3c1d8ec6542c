package password

import (
	_ "embed"
	"strings"
	"sync"
)

//go:embed common.txt
var commonList string

var (
	commonOnce sync.Once
	commonSet  map[string]struct{}
)

func common() map[string]struct{} {
	commonOnce.Do(func() {
		commonSet = make(map[string]struct{}, 3000)
		for _, line := range strings.Split(commonList, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			commonSet[line] = struct{}{}
		}
	})
	return commonSet
}

// IsCommon reports whether pw, lower-cased, is on the embedded list of
// common and breached passwords (see common.txt for its source).
func IsCommon(pw string) bool {
	_, ok := common()[strings.ToLower(pw)]
	return ok
}

// CommonCount reports how many passwords the embedded list holds.
func CommonCount() int { return len(common()) }
