package testkit

import "sync"

// Between stages a race at a chosen point: a test store's read calls Fire
// after reading, and an armed Between runs its function there once, so
// another writer's change lands between that read and the write made from
// it. The zero value is ready to use and safe for concurrent use.
type Between struct {
	mu   sync.Mutex
	skip int
	f    func()
}

// Arm makes the call to Fire after the next skip calls run f.
func (b *Between) Arm(skip int, f func()) {
	b.mu.Lock()
	b.skip, b.f = skip, f
	b.mu.Unlock()
}

// Fire runs the armed function when its turn has come, and disarms it.
func (b *Between) Fire() {
	b.mu.Lock()
	var f func()
	if b.skip--; b.skip < 0 {
		f, b.f = b.f, nil
	}
	b.mu.Unlock()
	if f != nil {
		f()
	}
}
