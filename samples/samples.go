// Package samples embeds the sample inputs and the emulator seed they
// belong to, so that `bulkpatch demo` runs from any directory.
//
//   - statuses.csv: a few dozen rows on both routes, every property, one row
//     Graph rejects (404) and one already in the desired state;
//   - invalid.csv: an Excel-dialect file (BOM, sep=;) full of mistakes, to
//     show the validation messages;
//   - devices.csv: managed devices (the demo's second act): renamed,
//     notes cleared, owner types set, some rows already as asked;
//   - seed.json: the emulator state both files were written against.
package samples

import (
	"embed"
	"io/fs"
	"os"
	"path/filepath"
)

// FS holds statuses.csv, invalid.csv, devices.csv and seed.json.
//
//go:embed statuses.csv invalid.csv devices.csv seed.json
var FS embed.FS

// WriteTo copies the samples into dir, which it makes (mode 0700) when
// it does not exist.
func WriteTo(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return fs.WalkDir(FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := FS.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, path), b, 0o600)
	})
}
