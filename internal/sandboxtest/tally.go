package sandboxtest

import (
	"encoding/json"
	"os"
	"testing"
)

// TallyEnv names the file to which Count appends, one JSON object a line;
// `go tool task chaos` sets it and turns the file into docs/reliability.md.
const TallyEnv = "SWITCHAROO_RELIABILITY_LOG"

// Tally is one line of that file.
type Tally struct {
	Test string `json:"test"`
	Kind string `json:"kind"`
	N    int64  `json:"n"`
}

// Count records that t did n of kind (faults injected, bad inputs tried,
// rows compared, rows lost…), if t passes and TallyEnv names a file.
func Count(t testing.TB, kind string, n int64) {
	path := os.Getenv(TallyEnv)
	if path == "" {
		return
	}
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		line, err := json.Marshal(Tally{Test: t.Name(), Kind: kind, N: n})
		if err != nil {
			t.Error(err)
			return
		}
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Errorf("%s: %v", TallyEnv, err)
			return
		}
		defer f.Close()
		if _, err := f.Write(append(line, '\n')); err != nil {
			t.Errorf("%s: %v", TallyEnv, err)
		}
	})
}
