// Package migrations holds crawlspace's PostgreSQL schema as numbered plain
// SQL files in goose's format. They are applied by `crawlspace migrate`,
// never by a worker starting up.
package migrations

import "embed"

// FS holds every migration, named NNNNN_verb_noun.sql, at its root.
//
//go:embed *.sql
var FS embed.FS
