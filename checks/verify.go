package checks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/catalog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/exitcode"
	"github.com/switcharoo/switcharoo/internal/mysqlconn"
	"golang.org/x/time/rate"
)

// VerifyOptions tune one verification. OptionsFrom gives the config's.
type VerifyOptions struct {
	// Tables are "db.table" glob patterns narrowing the replicated tables;
	// empty means all of them.
	Tables    []string
	ChunkRows int
	Workers   int
	// MaxRate caps the rows read per second from the source; 0: no cap.
	MaxRate int
	// DiffLimit caps the row keys reported per differing chunk.
	DiffLimit int
	// Fast compares checksums and counts only, without finding the rows.
	Fast bool
	// Fenced says the source takes no writes and replication has caught
	// up: one pass is definitive. The runbook verifies that way.
	Fenced bool
	// Progress is how often progress is logged.
	Progress time.Duration
	// OnProgress, when set, is told every second the rows compared and
	// the source's estimate of the rows to compare.
	OnProgress func(rows, estimate int64)
}

// OptionsFrom returns the verification options of a configuration.
func OptionsFrom(cfg *config.Config) VerifyOptions {
	v := cfg.Checks.Verify
	return VerifyOptions{ChunkRows: v.ChunkRows, Workers: v.Workers, MaxRate: v.MaxRate, DiffLimit: v.DiffLimit,
		Progress: cfg.Replication.ProgressInterval}
}

// SetupError means verification could not start: a server unreachable,
// a bad --tables pattern. Exit code 2.
type SetupError struct{ Err error }

func (e *SetupError) Error() string { return e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }

// ExitCode implements exitcode.Coder.
func (e *SetupError) ExitCode() int { return exitcode.Usage }

// rechecks bounds how often a differing chunk is compared again while
// replication runs, and recheckWait how long each wait for the replicator
// may take.
const (
	rechecks    = 5
	recheckWait = 30 * time.Second
)

// tableJob is one table compared on both sides.
type tableJob struct {
	name      catalog.TableName // on the source
	src, dst  *catalog.Table
	columns   []int  // compared columns (source indexes; same order on the target)
	srcHash   string // rowHash on each side
	dstHash   string
	intRanges bool
}

// verifier runs one verification.
type verifier struct {
	cfg     *config.Config
	opts    VerifyOptions
	log     zerolog.Logger
	src     *sql.DB
	dst     *sql.DB
	filter  catalog.Filter
	limiter *rate.Limiter
	live    bool

	mu     sync.Mutex
	report Report
	rows   atomic.Int64
	chunks atomic.Int64
	// estimate is the rows to compare, from the source's statistics.
	estimate int64
}

// Verify compares every replicated table of the source with the target,
// chunk by chunk, and reports what differs. It changes nothing on either
// server.
func Verify(ctx context.Context, cfg *config.Config, opts VerifyOptions, log zerolog.Logger) (*Report, error) {
	for _, p := range opts.Tables {
		if !strings.Contains(p, ".") {
			return nil, &SetupError{fmt.Errorf("--tables: %q must have the form db.table (each part may use * ? [..])", p)}
		}
	}
	src, err := mysqlconn.Open(cfg.Source, "", mysqlconn.DataSession())
	if err != nil {
		return nil, &SetupError{fmt.Errorf("source: %w", err)}
	}
	defer src.Close()
	dst, err := mysqlconn.Open(cfg.Target, "", mysqlconn.DataSession())
	if err != nil {
		return nil, &SetupError{fmt.Errorf("target: %w", err)}
	}
	defer dst.Close()
	for _, side := range []struct {
		name string
		db   *sql.DB
		e    config.Endpoint
	}{{"source", src, cfg.Source}, {"target", dst, cfg.Target}} {
		if err := side.db.PingContext(ctx); err != nil {
			return nil, &SetupError{fmt.Errorf("%s: cannot connect to %s: %w; check %s.host, %s.port, %s.user and its password",
				side.name, mysqlconn.Addr(side.e), err, side.name, side.name, side.name)}
		}
	}
	v := &verifier{cfg: cfg, opts: opts, log: log, src: src, dst: dst, filter: catalog.NewFilter(cfg.Replication)}
	v.opts.Workers = max(v.opts.Workers, 1)
	v.opts.ChunkRows = max(v.opts.ChunkRows, 1)
	if opts.MaxRate > 0 {
		v.limiter = rate.NewLimiter(rate.Limit(opts.MaxRate), max(opts.MaxRate, v.opts.ChunkRows))
	}
	return v.run(ctx)
}

func (v *verifier) run(ctx context.Context) (*Report, error) {
	start := time.Now()
	v.report.Mode = v.mode(ctx)
	jobs, err := v.tables(ctx)
	if err != nil {
		return nil, err
	}
	v.log.Info().Int("tables", len(jobs)).Str("mode", v.report.Mode).Msg("verifying")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan *chunk, 2*v.opts.Workers)
	var errOnce sync.Once
	var firstErr error
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	var producers, workers sync.WaitGroup
	producers.Go(func() {
		for _, job := range jobs {
			if err := v.plan(ctx, job, work); err != nil {
				fail(err)
				return
			}
		}
	})
	go func() { producers.Wait(); close(work) }()
	for range v.opts.Workers {
		workers.Go(func() {
			for c := range work {
				if err := v.check(ctx, c); err != nil {
					fail(err)
				}
			}
		})
	}
	stop := v.logProgress(ctx, start)
	workers.Wait()
	stop()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := &v.report
	r.Rows, r.Chunks = v.rows.Load(), int(v.chunks.Load())
	elapsed := time.Since(start)
	r.DurationMS = elapsed.Milliseconds()
	if s := elapsed.Seconds(); s > 0 {
		r.RowsPerSecond = float64(r.Rows) / s
	}
	slices.SortStableFunc(r.Differences, func(a, b Difference) int { return strings.Compare(a.Table, b.Table) })
	r.Identical = len(r.Differences) == 0
	if r.Differences == nil {
		r.Differences = []Difference{}
	}
	return r, nil
}

// mode decides whether differing chunks are re-checked: only while a
// replicator is streaming, and never when the source is fenced.
func (v *verifier) mode(ctx context.Context) string {
	if v.opts.Fenced {
		return "fenced"
	}
	st, err := binlog.ReadStatus(ctx, v.dst, v.cfg.Replication.CheckpointSchema)
	if err == nil && st.State == binlog.StateStreaming {
		v.live = true
		return "live"
	}
	return "static"
}

// tables lists the tables to compare, reporting tables found on one side
// only and tables whose columns differ.
func (v *verifier) tables(ctx context.Context) ([]*tableJob, error) {
	names, estimates, err := catalog.ListTables(ctx, v.src, v.filter)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	if len(v.opts.Tables) > 0 {
		names = slices.DeleteFunc(names, func(t catalog.TableName) bool { return !catalog.MatchQualified(v.opts.Tables, t) })
	}
	for _, n := range names {
		v.estimate += estimates[n]
	}
	srcSchema, err := catalog.LoadTables(ctx, v.src, names)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	targets := make([]catalog.TableName, len(names))
	for i, n := range names {
		targets[i] = v.filter.Target(n)
	}
	present, err := existing(ctx, v.dst, targets)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	var common []catalog.TableName
	for i, n := range names {
		if present[targets[i]] {
			common = append(common, targets[i])
		} else {
			v.differ(Difference{Table: n.String(), Kind: Missing, Detail: "table missing on the target"})
		}
	}
	if err := v.extraTables(ctx, names); err != nil {
		return nil, err
	}
	dstSchema, err := catalog.LoadTables(ctx, v.dst, common)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	v.report.Tables = len(names)
	var jobs []*tableJob
	for _, n := range names {
		dst := dstSchema[v.filter.Target(n)]
		if dst == nil {
			continue
		}
		job, problem := newJob(n, srcSchema[n], dst)
		if problem != "" {
			v.differ(Difference{Table: n.String(), Kind: Different, Detail: problem})
			continue
		}
		jobs = append(jobs, job)
	}
	return jobs, nil
}

// newJob pairs a table's two sides, or says why they cannot be compared.
func newJob(name catalog.TableName, src, dst *catalog.Table) (*tableJob, string) {
	names := func(t *catalog.Table) []string {
		var out []string
		for _, i := range t.Writable() {
			out = append(out, t.Columns[i].Name)
		}
		return out
	}
	if s, d := names(src), names(dst); !slices.Equal(s, d) {
		return nil, fmt.Sprintf("columns differ: source (%s), target (%s)", strings.Join(s, ", "), strings.Join(d, ", "))
	}
	if !slices.Equal(src.Key, dst.Key) {
		return nil, "the tables have different keys"
	}
	job := &tableJob{name: name, src: src, dst: dst, columns: src.Writable()}
	job.srcHash = rowHash(src, job.columns)
	job.dstHash = rowHash(dst, dst.Writable())
	job.intRanges = len(src.Key) == 1 && src.Columns[src.Key[0]].Kind() == catalog.KindInt
	return job, ""
}

// existing reports which of the tables exist on db.
func existing(ctx context.Context, db *sql.DB, tables []catalog.TableName) (map[catalog.TableName]bool, error) {
	out := map[catalog.TableName]bool{}
	err := catalog.ScanRows(ctx, db, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE'", nil,
		func(rows *sql.Rows) error {
			var t catalog.TableName
			if err := rows.Scan(&t.DB, &t.Table); err != nil {
				return err
			}
			out[t] = true
			return nil
		})
	for t := range out {
		if !slices.Contains(tables, t) {
			delete(out, t)
		}
	}
	return out, err
}

// extraTables reports tables in the target's replicated databases that the
// source does not have (and the filter would replicate).
func (v *verifier) extraTables(ctx context.Context, names []catalog.TableName) error {
	if len(v.opts.Tables) > 0 {
		return nil
	}
	back := map[string]string{} // target database → source database
	for _, n := range names {
		back[v.filter.TargetDB(n.DB)] = n.DB
	}
	return catalog.ScanRows(ctx, v.dst, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE'", nil,
		func(rows *sql.Rows) error {
			var t catalog.TableName
			if err := rows.Scan(&t.DB, &t.Table); err != nil {
				return err
			}
			srcDB, ok := back[t.DB]
			src := catalog.TableName{DB: srcDB, Table: t.Table}
			if ok && v.filter.Includes(src) && !slices.Contains(names, src) {
				v.differ(Difference{Table: src.String(), Kind: Extra, Detail: "table on the target only"})
			}
			return nil
		})
}

// plan sends a table's chunks.
func (v *verifier) plan(ctx context.Context, job *tableJob, out chan<- *chunk) error {
	if !job.intRanges {
		return keysetChunks(ctx, v.src, job, v.opts.ChunkRows, out)
	}
	var estimate int64
	if err := v.src.QueryRowContext(ctx, "SELECT IFNULL(TABLE_ROWS, 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
		job.name.DB, job.name.Table).Scan(&estimate); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	ranges, err := catalog.IntRanges(ctx, v.src, job.src, estimate, v.opts.ChunkRows)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	for i, rg := range ranges {
		if err := send(ctx, out, &chunk{job: job, seq: i, rng: rg}); err != nil {
			return err
		}
	}
	return nil
}

func (v *verifier) differ(d Difference) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.report.Differences = append(v.report.Differences, d)
}

// sum is a chunk's checksum on one side: its row count and the XOR of its
// rows' hashes. Each row's hash covers its key, so rows cannot cancel out
// unless two differences collide in 32 bits.
type sum struct {
	rows int64
	xor  string
}

// check compares one chunk, re-checking it while replication catches up,
// and finds the differing rows of a chunk that still differs.
func (v *verifier) check(ctx context.Context, c *chunk) error {
	for attempt := 0; ; attempt++ {
		if v.limiter != nil {
			if err := v.limiter.WaitN(ctx, min(v.opts.ChunkRows, v.limiter.Burst())); err != nil {
				return err
			}
		}
		s, d, err := v.checksums(ctx, c)
		if err != nil {
			return err
		}
		if attempt == 0 {
			v.rows.Add(s.rows)
			v.chunks.Add(1)
			c.rows = s.rows
		}
		if s == d {
			return nil
		}
		if !v.live || attempt == rechecks {
			return v.report1(ctx, c, s, d)
		}
		v.mu.Lock()
		v.report.Rechecks++
		v.mu.Unlock()
		if err := v.waitForReplication(ctx); err != nil {
			return err
		}
	}
}

// checksums computes the chunk's checksum on both sides at once.
func (v *verifier) checksums(ctx context.Context, c *chunk) (sum, sum, error) {
	var s, d sum
	var serr, derr error
	var wg sync.WaitGroup
	wg.Go(func() { s, serr = checksum(ctx, v.src, c, c.job.src, c.job.srcHash) })
	wg.Go(func() { d, derr = checksum(ctx, v.dst, c, c.job.dst, c.job.dstHash) })
	wg.Wait()
	if serr != nil {
		return s, d, fmt.Errorf("source: checksum of %s: %w", c.job.name, serr)
	}
	if derr != nil {
		return s, d, fmt.Errorf("target: checksum of %s: %w", c.job.name, derr)
	}
	return s, d, nil
}

func checksum(ctx context.Context, db *sql.DB, c *chunk, t *catalog.Table, hash string) (sum, error) {
	where, args, err := c.where(t)
	if err != nil {
		return sum{}, err
	}
	q := "SELECT COUNT(*), COALESCE(BIT_XOR(" + hash + "), 0) FROM " + catalog.QuoteName(t.Name)
	if where != "" {
		q += " WHERE " + where
	}
	var s sum
	err = db.QueryRowContext(ctx, q, args...).Scan(&s.rows, &s.xor)
	return s, err
}

// waitForReplication waits until the replicator has applied everything
// the source has written now, or recheckWait passed.
func (v *verifier) waitForReplication(ctx context.Context) error {
	pos, err := binlog.CurrentPosition(ctx, v.src)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	deadline := time.Now().Add(recheckWait)
	for time.Now().Before(deadline) {
		cp, err := binlog.ReadCheckpoint(ctx, v.dst, v.cfg.Replication.CheckpointSchema)
		if err == nil && cp.Position.Compare(pos) >= 0 {
			return nil
		}
		if !errors.Is(err, binlog.ErrNoCheckpoint) && err != nil {
			return fmt.Errorf("target: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	v.log.Warn().Stringer("position", pos).Msg("replication did not catch up within 30s; re-checking anyway")
	return nil
}

// report1 reports a chunk that differs: as a chunk with --fast, else row
// by row.
func (v *verifier) report1(ctx context.Context, c *chunk, s, d sum) error {
	if v.opts.Fast {
		v.differ(Difference{Table: c.job.name.String(), Kind: Different,
			Detail: fmt.Sprintf("chunk %s differs: %d rows on the source, %d on the target", c.describe(), s.rows, d.rows)})
		return nil
	}
	diffs, err := v.rowDifferences(ctx, c)
	if err != nil {
		return err
	}
	for _, diff := range diffs {
		v.differ(diff)
	}
	return nil
}

// logProgress logs chunks and rows compared until stopped, and tells
// OnProgress every second.
func (v *verifier) logProgress(ctx context.Context, start time.Time) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if on := v.opts.OnProgress; on != nil {
		wg.Go(func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				on(v.rows.Load(), max(v.estimate, v.rows.Load()))
				select {
				case <-ctx.Done():
					on(v.rows.Load(), v.rows.Load()) // compared: the estimate gives way
					return
				case <-t.C:
				}
			}
		})
	}
	if v.opts.Progress <= 0 {
		return func() { cancel(); wg.Wait() }
	}
	wg.Go(func() {
		t := time.NewTicker(v.opts.Progress)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			rows := v.rows.Load()
			v.log.Info().Int64("chunks", v.chunks.Load()).Int64("rows", rows).
				Int("rows_per_second", int(float64(rows)/time.Since(start).Seconds())).Msg("verify progress")
		}
	})
	return func() { cancel(); wg.Wait() }
}
