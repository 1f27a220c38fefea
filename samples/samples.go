// Package samples embeds the sample inputs and the emulator seed they
// belong to, so that `bulkpatch demo` runs from any directory.
//
//   - statuses.csv: a few dozen rows on both routes, every property, one row
//     Graph rejects (404) and one already in the desired state;
//   - invalid.csv: an Excel-dialect file (BOM, sep=;) full of mistakes, to
//     show the validation messages;
//   - seed.json: the emulator state statuses.csv was written against.
package samples

import "embed"

// FS holds statuses.csv, invalid.csv and seed.json.
//
//go:embed statuses.csv invalid.csv seed.json
var FS embed.FS
