package veclite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	veclite "github.com/veclite/veclite/go"
)

// TestConcurrentReadersWriter runs one writer and several readers on a WAL file
// database, each on its own pooled connection. The writer commits batches of
// batchSize rows (rowid i+1 holds base vector i) and rolls back half-batches in
// between; every query must see a committed state: counts are multiples of
// batchSize, the newest committed row is found by the graph walk, no row of a
// rolled-back or later batch appears, and a read transaction's queries agree with
// each other however many commits land meanwhile.
func TestConcurrentReadersWriter(t *testing.T) {
	const (
		batchSize = 50
		batches   = 40 // 2000 rows: the first KNN queries scan exactly, later ones walk the graph
		readers   = 4
	)
	f := loadFixture(t)
	dsn := "file:" + filepath.Join(t.TempDir(), "wal.db") + "?_journal_mode=WAL&_busy_timeout=10000"
	db, err := veclite.Open(dsn, veclite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(readers + 1)
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q (%v), want wal", mode, err)
	}
	if _, err := db.Exec(`CREATE VIRTUAL TABLE docs USING veclite(
		embedding float[384], batch integer, distance = cosine)`); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fail := func(format string, args ...any) {
		t.Errorf(format, args...)
		cancel() // one failure is enough
	}

	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the writer
		defer wg.Done()
		defer done.Store(true)
		insert := func(tx *sql.Tx, rowid, vec, batch int) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO docs(rowid, embedding, batch) VALUES (?, ?, ?)`,
				rowid, veclite.Vector(f.base.Vectors[vec]), batch)
			return err
		}
		for b := 0; b < batches && ctx.Err() == nil; b++ {
			if b%4 == 1 { // a half batch that is rolled back: never visible
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					fail("writer: %v", err)
					return
				}
				for j := 0; j < batchSize/2; j++ {
					if err := insert(tx, 500000+b*batchSize+j, 5000+j, -1); err != nil {
						tx.Rollback()
						fail("writer: %v", err)
						return
					}
				}
				if err := tx.Rollback(); err != nil {
					fail("writer: rollback: %v", err)
					return
				}
			}
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				fail("writer: %v", err)
				return
			}
			for j := 0; j < batchSize; j++ {
				i := b*batchSize + j
				if err := insert(tx, i+1, i, b); err != nil {
					tx.Rollback()
					fail("writer: batch %d: %v", b, err)
					return
				}
			}
			if err := tx.Commit(); err != nil {
				fail("writer: commit of batch %d: %v", b, err)
				return
			}
		}
	}()

	var checks atomic.Int64
	for r := 0; r < readers; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			last := 0
			for ctx.Err() == nil {
				finished := done.Load() // one more round after the writer's last commit
				var n int
				var err error
				if r%2 == 0 {
					n, err = checkSnapshot(ctx, db, f, batchSize)
				} else {
					err = db.QueryRowContext(ctx, `SELECT count(*) FROM docs`).Scan(&n)
					if err == nil && n%batchSize != 0 {
						err = fmt.Errorf("count(*) = %d, not a multiple of %d", n, batchSize)
					}
				}
				if err != nil {
					if ctx.Err() == nil {
						fail("reader %d: %v", r, err)
					}
					return
				}
				if n < last {
					fail("reader %d: count went back from %d to %d", r, last, n)
					return
				}
				last = n
				checks.Add(1)
				if finished {
					if n != batches*batchSize {
						fail("reader %d: after the last commit count is %d, want %d", r, n, batches*batchSize)
					}
					return
				}
			}
		}(r)
	}
	waitOrCancel(t, &wg, cancel, 90*time.Second)
	if t.Failed() {
		return
	}
	t.Logf("%d reads checked while %d batches of %d were committed", checks.Load(), batches, batchSize)

	// Finally every pooled connection, held at once, sees the last commit.
	var conns []*sql.Conn
	for i := 0; i < readers+1; i++ {
		c, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i, c := range conns {
		n, err := checkSnapshot(context.Background(), c, f, batchSize)
		if err != nil || n != batches*batchSize {
			t.Errorf("connection %d: %d rows (%v), want %d", i, n, err, batches*batchSize)
		}
	}
}

// beginner is a *sql.DB or *sql.Conn.
type beginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// checkSnapshot runs, in one read transaction, a count and three KNN queries that
// must agree with it, and returns the count.
func checkSnapshot(ctx context.Context, db beginner, f *fixture, batchSize int) (int, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM docs`).Scan(&n); err != nil {
		return 0, err
	}
	if n%batchSize != 0 {
		return n, fmt.Errorf("count(*) = %d, not a multiple of %d", n, batchSize)
	}
	if n == 0 {
		return 0, nil
	}
	knn := func(what string, q veclite.Vector, k int, where string) ([]hit, error) {
		got, err := knnCtx(ctx, tx, q, k, where)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", what, err)
		}
		for _, h := range got {
			if h.id < 1 || h.id > int64(n) {
				return nil, fmt.Errorf("%s: rowid %d, but count(*) = %d in the same transaction", what, h.id, n)
			}
		}
		return got, nil
	}

	// The newest committed row is found (graph walk once the table is large).
	newest := veclite.Vector(f.base.Vectors[n-1])
	got, err := knn("newest row", newest, 10, "")
	if err != nil {
		return n, err
	}
	found := false
	for _, h := range got {
		found = found || h.id == int64(n)
	}
	if !found {
		return n, fmt.Errorf("the newest row %d is not among its own 10 nearest: %v", n, got)
	}
	// The newest batch is complete (exact scan with a filter).
	if got, err = knn("newest batch", newest, 2*batchSize, fmt.Sprintf(" AND rowid > %d", n-batchSize)); err != nil {
		return n, err
	}
	if len(got) != batchSize {
		return n, fmt.Errorf("newest batch: %d rows, want %d", len(got), batchSize)
	}
	// Every row, and so every batch, is there.
	if got, err = knn("all rows", newest, 10000, " AND batch >= 0"); err != nil {
		return n, err
	}
	if len(got) != n {
		return n, fmt.Errorf("all rows: %d rows, count(*) = %d in the same transaction", len(got), n)
	}
	return n, nil
}

func knnCtx(ctx context.Context, tx *sql.Tx, q veclite.Vector, k int, where string) ([]hit, error) {
	rows, err := tx.QueryContext(ctx,
		`SELECT rowid, distance FROM docs WHERE knn_match(embedding, ?) AND k = ?`+where, q, k)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []hit
	for rows.Next() {
		var h hit
		if err := rows.Scan(&h.id, &h.dist); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// waitOrCancel waits for wg; after d it cancels the workers' context, waits for
// them to stop, and fails the test.
func waitOrCancel(t *testing.T, wg *sync.WaitGroup, cancel context.CancelFunc, d time.Duration) {
	t.Helper()
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(d):
		cancel()
		<-waited
		t.Fatalf("the readers and the writer did not finish in %v", d)
	}
}
