// Package plan turns input rows into validated operations and keeps them
// in a plan file.
//
// A Validator checks each csvio.Record against the rules of the input
// contract (ids, enum spellings, errorCode, date-times, <null>, duplicate
// objects) and yields an Op plus every Problem of the row. Op.AppendBody
// encodes the exact JSON PATCH body; OpFromBody reads such a body back,
// checking it as strictly as Check checks a row, so that an edited plan
// file is caught before anything is sent. Diff compares an Op with the
// live object by meaning, for reconcile. FileWriter and FileReader write
// and read the plan file as a stream.
package plan
