// Command mutants measures how well the tests guard the safety-critical
// files (issue #23): it plants one deliberate bug at a time in a file,
// runs the tests that should notice, and writes docs/mutation.md, the
// caught/survived score per file and every survivor with a column for
// why it is harmless or which test now catches it.
//
// Why a mutator of its own: the maintained Go tool the module proxy serves
// (go-gremlins/gremlins) runs each mutant against its package's whole
// suite after a coverage run of the whole suite. Here a package's suite
// takes 6 to 10 minutes (it starts real MariaDB servers), so thousands of
// mutants need a narrower test command per file, which it cannot take.
//
// Mutants (mutate.go) come from go/ast, as text edits of the source so the
// rest of the file stays byte for byte: a comparison or && / || flipped
// (== ↔ !=, < ↔ >=, > ↔ <=), a ! dropped or a plain if-condition negated,
// a statement deleted (expression, assignment, ++/--, send, defer, go, a
// whole if — the `if err != nil { return err }` removal among them), two
// adjacent statements swapped, a function returning at once with zero
// values (`*new(T)`, nil for an error). A mutant's id is its function,
// operator and source text, not its line, so the explanations written for
// survivors in docs/mutation.md stay attached while the file is edited
// elsewhere.
//
// Running (run.go): `go test -overlay` puts the mutated file in place of
// the real one, so the work tree is never written and an interrupted pass
// leaves nothing behind. Each file maps to the tests likely to catch its
// mutants (a -run regex in targets) with -failfast and a timeout; CI=true
// makes a test whose servers are missing fail rather than skip. The
// unmutated file must pass the same command first. A mutant that does not
// build is discarded; one that times out counts as caught (the report
// shows how many).
//
// Results are cached in internal/mutants/results/results.json by file
// hash and mutant id, saved after every mutant: a pass (`go tool task
// mutants`, with -files, -sample N, -seed, -for DURATION) resumes where
// the last stopped, and a file that changed is measured again;
// -survivors runs only the survivors again, after a test was added for
// them. -check is
// CI's sample: a few mutants of one file with fast tests, the cache left
// alone, failing when one survives that docs/mutation.md does not explain.
package main
