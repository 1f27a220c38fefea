// Package plan turns input rows into validated operations and keeps them
// in a plan file. It owns the rules of the input contract's cells (id
// rules applied to key cells, enum spellings, Int32 forms, date-times,
// <null>, NUL bytes, the same object twice) and the exact bytes of a PATCH
// body; what a resource is (its keys, properties, kinds, enums and routes)
// it reads from package resource, so it holds no code per resource.
//
// Columns gives csvio the input columns of a resource, and KeyCells and
// PropCell read a record's cells by that layout. A Validator checks each
// csvio.Record and yields an Op plus every Problem of the row.
// Op.AppendBody encodes the exact JSON PATCH body and Op.Cells the
// property cells of the results file; OpFromBody reads such a body back,
// checking it as strictly as Check checks a row, so that an edited plan
// file is caught before anything is sent. Diff compares an Op with the
// live object by meaning, for reconcile. FileWriter and FileReader write
// and read the plan file as a stream.
package plan
