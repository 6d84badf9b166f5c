package binlog

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/catalog"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// A checkpoint written is read back whole: every field, the pending
// schema change (R4's record, docs/model.md) and the event time (the lag
// without a heartbeat) included; one without a pending schema change or
// an event time reads back without them, and the time of the write is
// the server's.
func TestCheckpointRoundTrip(t *testing.T) {
	db := sandboxtest.DB(t, sandboxtest.Start(t), "")
	ctx := context.Background()
	for _, stmt := range stateTables("_cp") {
		sandboxtest.Exec(t, db, stmt)
	}
	if _, err := ReadCheckpoint(ctx, db, "_cp"); err != ErrNoCheckpoint {
		t.Fatalf("an empty checkpoint table: %v, want ErrNoCheckpoint", err)
	}
	table := catalog.TableName{DB: "app", Table: "t"}
	for _, want := range []Checkpoint{
		{Source: "src:3306 server_id=1", Phase: phaseStreaming, Position: Position{File: "binlog.000042", Pos: 4242}, GTID: "0-1-42",
			EventTime: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), Transactions: 7, RowChanges: 70,
			Schema:     catalog.Schema{table: {Name: table, Columns: []catalog.Column{{Name: "id", DataType: "int", Type: "int(11)"}}, Key: []int{0}}},
			PendingDDL: "ALTER TABLE t CHANGE a b INT, CHANGE b a INT"},
		{Source: "src:3306 server_id=1", Phase: phaseCopying, Position: Position{File: "binlog.000001", Pos: 4}, Schema: catalog.Schema{}},
	} {
		before := time.Now().UTC().Add(-time.Minute)
		if err := writeCheckpoint(ctx, db, "_cp", &want); err != nil {
			t.Fatal(err)
		}
		got, err := ReadCheckpoint(ctx, db, "_cp")
		if err != nil {
			t.Fatal(err)
		}
		if got.UpdatedAt.Before(before) || got.UpdatedAt.After(time.Now().UTC().Add(time.Minute)) {
			t.Errorf("updated at %s, want about now", got.UpdatedAt)
		}
		got.UpdatedAt = time.Time{}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("read back\n%+v\nwant\n%+v", *got, want)
		}
	}
	// A write that fails says so.
	if err := writeCheckpoint(ctx, db, "_nowhere", &Checkpoint{Schema: catalog.Schema{}}); err == nil {
		t.Errorf("a checkpoint written into a schema that does not exist: no error")
	}
}
