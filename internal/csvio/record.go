package csvio

// Column describes one column a Reader knows. The caller lists them in
// ReaderOptions.Columns (bulkpatch builds the list from a resource
// description); a Record's Cells are indexed like that list.
type Column struct {
	// Name is the canonical header name, e.g. "mobileAppId".
	Name string
	// Aliases are other header names accepted for the column, e.g.
	// "appId". Names and aliases match after folding (see Reader).
	Aliases []string
	// Required columns must be in the header.
	Required bool
}

// Record is one data row of the input.
type Record struct {
	// Line is the physical line (1-based, counting a sep= line and the
	// header) on which the record starts, also after quoted cells that span
	// lines.
	Line int
	// Cells holds each known column's cell, indexed like
	// ReaderOptions.Columns: "" when the cell is empty or the column is
	// absent from the file.
	Cells []string
	// Comments holds the cells of the comment columns ('#' headers), in
	// file order, as written; see Reader.Comments.
	Comments []string
}
