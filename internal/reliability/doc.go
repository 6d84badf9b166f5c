// Command reliability turns the tallies the fault-injection tests record
// (sandboxtest.Count, one JSON object a line in the file that
// SWITCHAROO_RELIABILITY_LOG names) into docs/reliability.md. `go tool
// task chaos` runs the suite with that variable set, then this.
//
// Tallies are recorded only by tests that passed, and every test that
// compares data fails on the first difference or missing write: the
// report's "data lost" is therefore 0 or there is no report.
package main
