package sandboxtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// Binary builds the switcharoo command once per test binary and returns
// its path: tests run it as users do, and the sandbox's emulated tasks run
// it as the sample application.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "switcharoo-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "switcharoo")
		out, err := exec.Command("go", "build", "-o", binary, "github.com/switcharoo/switcharoo/cmd/switcharoo").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}
