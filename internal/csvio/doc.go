// Package csvio reads bulkpatch's input CSV and writes CSV that is safe to
// open in a spreadsheet. It knows CSV, not Graph: the columns to look for
// come from the caller (ReaderOptions.Columns, built from a resource
// description), and it imports no other package of bulkpatch.
//
// Reading is streaming: [Reader] holds one record at a time, never the whole
// file, and bounds the memory a single record may take
// ([ReaderOptions.MaxRecordBytes]). It accepts what spreadsheets produce: a
// UTF-8 byte order mark, an Excel "sep=;" first line, ',' ';' or tab
// delimiters detected from the header, CRLF line ends and quoted cells that
// span lines. Header names are matched forgivingly (see [Reader]); every
// problem comes back as a [*ParseError] carrying the physical line, the
// column name and the offending value, and callers branch on the sentinel
// errors with errors.Is.
//
// Cells are handed over exactly as written (apart from undoing the writer's
// formula neutralisation): trimming, conversion and validation belong to
// package plan, which can then name line, column and value in its messages.
//
// Writing goes through [Writer], which neutralises every cell a spreadsheet
// would run as a formula ([Neutralize]).
//
// The row mapping uses github.com/gocarina/gocsv through a per-instance
// Unmarshaller over an encoding/csv Reader configured here; none of gocsv's
// package-level settings are touched. The header is mapped once, by
// csvio, and gocsv is handed that decision as positional field tags.
package csvio
