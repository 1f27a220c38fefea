// Package csvio reads bulkpatch's input CSV and writes CSV that is safe to
// open in a spreadsheet. It knows CSV, not Graph: the columns to look for
// come from the caller (ReaderOptions.Columns, built from a resource
// description), and it imports no other package of bulkpatch.
//
// Reading is streaming: [Reader] holds one record at a time, never the whole
// file, and bounds the memory a single record may take
// ([ReaderOptions.MaxRecordBytes]). It accepts what spreadsheets produce:
// UTF-8 with or without a byte order mark, UTF-16 with one (Excel's
// "Unicode Text"), Windows-1252 when asked for (Excel's "CSV (Comma
// delimited)"; see [Encoding]), an Excel "sep=;" first line, ',' ';' or
// tab delimiters detected from the header, CRLF line ends and quoted cells
// that span lines. Text is decoded with golang.org/x/text and checked as
// it streams in, so a file in another encoding than the one read gets one
// message naming the line, the bytes and the --encoding that reads it.
// Header names are matched forgivingly (see [Reader]); every problem comes
// back as a [*ParseError] carrying the physical line, the column name and
// the offending value, and callers branch on the sentinel errors with
// errors.Is.
//
// [Reader.Dialect] says how the input was written; a file written with
// [Dialect.WriterOptions] (the results of a run) opens the same way.
// [TableReader] reads any CSV the same way without the column rules: it
// reads bulkpatch's own results files back.
//
// Cells are handed over exactly as written (apart from undoing the writer's
// formula neutralisation): trimming, conversion and validation belong to
// package plan, which can then name line, column and value in its messages.
//
// Writing goes through [Writer], which neutralises every cell a spreadsheet
// would run as a formula ([Neutralize]), in any of the dialects read.
//
// The row mapping uses github.com/gocarina/gocsv through a per-instance
// Unmarshaller over an encoding/csv Reader configured here; none of gocsv's
// package-level settings are touched. The header is mapped once, by
// csvio, and gocsv is handed that decision as positional field tags.
package csvio
