package faultpoint

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// Env is the environment variable that arms points.
const Env = "SWITCHAROO_TEST_FAULTPOINTS"

// Names of the points.
const (
	// BeforeDDL: a schema change is recorded as pending in the checkpoint,
	// and about to run on the target.
	BeforeDDL = "before-ddl"
	// AfterDDLBeforeCheckpoint: a schema change has run on the target; the
	// checkpoint does not record it yet.
	AfterDDLBeforeCheckpoint = "after-ddl-before-checkpoint"
	// BeforeBatchCommit: a batch's commit packet is about to be sent.
	BeforeBatchCommit = "before-batch-commit"
)

var armed = parse(os.Getenv(Env))

func parse(spec string) map[string]string {
	points := map[string]string{}
	for item := range strings.SplitSeq(spec, ",") {
		if name, action, ok := strings.Cut(strings.TrimSpace(item), ":"); ok {
			points[name] = action
		}
	}
	return points
}

// Hit acts on the point name if it is armed.
func Hit(name string) {
	switch armed[name] {
	case "":
	case "kill":
		fmt.Fprintf(os.Stderr, "faultpoint %s: SIGKILL\n", name)
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}
