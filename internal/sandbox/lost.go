package sandbox

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"strconv"
	"strings"
)

// LostWrites returns the writes the sample application saw acknowledged
// (the ids in ackFile, see Env.AckFile) that the server at dsn does not
// hold in app.writes, and how many were acknowledged. The
// acknowledgements are read first: a write acknowledged by then was
// committed by then, so the rows read after must hold it, however busy
// the writers still are.
func LostWrites(ctx context.Context, ackFile, dsn string) ([]int64, int, error) {
	b, err := os.ReadFile(ackFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var acked []int64
	lines := strings.Split(string(b), "\n")
	for _, line := range lines[:len(lines)-1] { // the last is empty, or an id still being written
		if id, err := strconv.ParseInt(line, 10, 64); err == nil {
			acked = append(acked, id)
		}
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, 0, err
	}
	defer db.Close()
	held := map[int64]bool{}
	rows, err := db.QueryContext(ctx, "SELECT id FROM app.writes")
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, 0, err
		}
		held[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var lost []int64
	for _, id := range acked {
		if !held[id] {
			lost = append(lost, id)
		}
	}
	return lost, len(acked), nil
}
