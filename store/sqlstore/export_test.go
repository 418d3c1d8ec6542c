package sqlstore

import "context"

// MigrateTo applies the migrations up to and including version, for tests
// that start from a database an older release migrated.
func (s *Store) MigrateTo(ctx context.Context, version int) error { return s.migrateTo(ctx, version) }
