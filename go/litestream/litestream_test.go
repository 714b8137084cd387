package litestream

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	veclite "github.com/veclite/veclite/go"
	"github.com/veclite/veclite/go/internal/knntest"
	"github.com/veclite/veclite/go/internal/wordnet"
)

const (
	nRows     = 10000
	batch     = 250 // rows per writer transaction; batch b holds rowids b*batch+1 .. (b+1)*batch
	nBatches  = nRows / batch
	restoreAt = 12 // the mid-write restore starts once this many batches are committed
	nQueries  = 20 // each unfiltered and with cat = qi % 4
	k         = knntest.K
	minRecall = 0.95 // mean recall@10 against the brute force, on each restored copy
	tieEps    = 1e-6
)

// EnvLitestream names the variable with the litestream binary's path.
const EnvLitestream = "VECLITE_LITESTREAM"

type hit = knntest.Hit

type query struct{ qi, cat int }

func blob(v []float32) []byte { return veclite.Vector(v).Blob() }

var knn = knntest.KNN
var brute = knntest.Brute

func recall(got, want []hit) float64 { return knntest.Recall(got, want, tieEps) }

func open(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := veclite.Open("file:"+path+"?_journal_mode=WAL&_busy_timeout=5000", veclite.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	db.SetMaxOpenConns(1)
	return db
}

// syncBuffer collects a process's output safely while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestReplicateRestore: the writer commits nBatches transactions of batch rows
// and, after each, records the KNN answers of every query (answers[b]: after b
// batches). Litestream replicates meanwhile; a restore taken mid-write and one at
// the end are opened: each must hold exactly the first n rows for some whole
// number of batches b = n / batch, byte for byte, answer every query exactly as the
// source did after b batches, pass veclite_check and PRAGMA integrity_check, and
// reach the recall floor against the brute force over its n rows.
func TestReplicateRestore(t *testing.T) {
	bin := os.Getenv(EnvLitestream)
	if bin == "" {
		t.Fatalf("%s is not set: give it a litestream binary (scripts/test_scaleout.sh builds one)", EnvLitestream)
	}
	dir, err := wordnet.Dir()
	if err != nil {
		t.Fatal(err)
	}
	base, err := wordnet.LoadBase(dir, nRows)
	if err != nil {
		t.Fatal(err)
	}
	queries, err := wordnet.LoadQueries(dir, nQueries)
	if err != nil {
		t.Fatal(err)
	}
	var qs []query
	for qi := range queries {
		qs = append(qs, query{qi, -1}, query{qi, qi % 4})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	root := t.TempDir()
	src := filepath.Join(root, "src", "docs.db")
	replica := filepath.Join(root, "replica")
	for _, d := range []string{filepath.Dir(src), filepath.Join(root, "restored")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	db := open(t, src)
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE VIRTUAL TABLE docs USING veclite(embedding float[384], cat integer)`); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(root, "litestream.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`dbs:
  - path: %s
    monitor-interval: 50ms
    replicas:
      - type: file
        path: %s
        sync-interval: 50ms
`, src, replica)), 0o644); err != nil {
		t.Fatal(err)
	}
	var lsOut syncBuffer
	rep := exec.Command(bin, "replicate", "-config", cfg)
	rep.Stdout, rep.Stderr = &lsOut, &lsOut
	if err := rep.Start(); err != nil {
		t.Fatalf("litestream replicate: %v", err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			rep.Process.Signal(os.Interrupt)
			rep.Wait()
		}
	}
	defer func() {
		stop()
		if t.Failed() {
			t.Logf("litestream replicate said:\n%s", lsOut.String())
		}
	}()

	restore := func(out string) (string, error) {
		o, err := exec.CommandContext(ctx, bin, "restore", "-o", out, "file://"+replica).CombinedOutput()
		return string(o), err
	}
	// The first snapshot: a restore succeeds once Litestream has one.
	start := time.Now()
	for i := 0; ; i++ {
		probe := filepath.Join(root, "restored", fmt.Sprintf("probe%d.db", i))
		if _, err := restore(probe); err == nil {
			break
		}
		if time.Since(start) > 30*time.Second {
			o, err := restore(probe)
			t.Fatalf("no snapshot after 30s: %v\n%s", err, o)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("first snapshot on the replica after %v", time.Since(start).Round(time.Millisecond))

	// The writer, and the restore taken while it writes.
	answers := make([]map[query][]hit, nBatches+1)
	type restored struct {
		path string
		out  string
		err  error
		at   int // batches committed when the restore started
		took time.Duration
	}
	mid := make(chan restored, 1)
	start = time.Now()
	for b := 0; b < nBatches; b++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := b * batch; i < (b+1)*batch; i++ {
			if _, err := tx.ExecContext(ctx, `INSERT INTO docs(rowid, embedding, cat) VALUES (?, ?, ?)`,
				i+1, blob(base.Vectors[i]), int(base.Pos[i])); err != nil {
				t.Fatalf("insert row %d: %v", i+1, err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		answers[b+1] = map[query][]hit{}
		for _, q := range qs {
			got, err := knn(ctx, db, queries[q.qi], q.cat)
			if err != nil {
				t.Fatalf("source after %d batches, %v: %v", b+1, q, err)
			}
			answers[b+1][q] = got
		}
		if b+1 == restoreAt {
			go func(at int) {
				p := filepath.Join(root, "restored", "mid.db")
				t0 := time.Now()
				out, err := restore(p)
				mid <- restored{p, out, err, at, time.Since(t0)}
			}(b + 1)
		}
	}
	t.Logf("writer: %d batches of %d rows, answers recorded after each, in %v", nBatches, batch, time.Since(start).Round(time.Millisecond))
	m := <-mid
	if m.err != nil {
		t.Fatalf("restore while writing: %v\n%s", m.err, m.out)
	}
	t.Logf("mid-write restore started after batch %d, took %v", m.at, m.took.Round(time.Millisecond))
	nMid := check(ctx, t, "mid-write restore", m.path, base, queries, qs, answers)
	if nMid >= nBatches || nMid == 0 {
		t.Errorf("the mid-write restore holds %d batches: expected a point strictly inside the write (0 < b < %d)", nMid, nBatches)
	}

	// The end: restore until the replica has caught up with the last batch.
	start = time.Now()
	for i := 0; ; i++ {
		p := filepath.Join(root, "restored", fmt.Sprintf("final%d.db", i))
		if out, err := restore(p); err != nil {
			t.Fatalf("final restore: %v\n%s", err, out)
		}
		if n := count(t, p); n == nRows {
			t.Logf("replica caught up %v after the last commit (%d restores)", time.Since(start).Round(time.Millisecond), i+1)
			check(ctx, t, "final restore", p, base, queries, qs, answers)
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("the replica has not caught up with the source 30s after the last commit")
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
}

// count is the number of rows of a restored copy.
func count(t *testing.T, path string) int {
	t.Helper()
	db := open(t, path)
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM docs`).Scan(&n); err != nil {
		t.Fatalf("%s: count: %v", path, err)
	}
	return n
}

// check opens a restored copy and returns how many batches it holds.
func check(ctx context.Context, t *testing.T, what, path string, base *wordnet.Base, queries [][]float32, qs []query, answers []map[query][]hit) int {
	t.Helper()
	db := open(t, path)
	defer db.Close()
	scalar := func(s string) string {
		var v string
		if err := db.QueryRowContext(ctx, s).Scan(&v); err != nil {
			t.Fatalf("%s: %s: %v", what, s, err)
		}
		return v
	}
	if v := scalar(`PRAGMA journal_mode`); v != "wal" {
		t.Errorf("%s: journal_mode %s", what, v)
	}
	if v := scalar(`PRAGMA integrity_check`); v != "ok" {
		t.Fatalf("%s: integrity_check: %s", what, v)
	}
	if v := scalar(`SELECT veclite_check('docs')`); v != "ok" {
		t.Fatalf("%s: veclite_check: %s", what, v)
	}
	var n, maxID int
	if err := db.QueryRowContext(ctx, `SELECT count(*), coalesce(max(rowid), 0) FROM docs`).Scan(&n, &maxID); err != nil {
		t.Fatal(err)
	}
	if n%batch != 0 || maxID != n {
		t.Fatalf("%s: %d rows, max rowid %d: not the first b batches of %d for a whole b (a transaction torn?)", what, n, maxID, batch)
	}
	b := n / batch
	// The rows, byte for byte (and their categories).
	rows, err := db.QueryContext(ctx, `SELECT rowid, embedding, cat FROM docs ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for rows.Next() {
		var id int64
		var emb []byte
		var cat int
		if err := rows.Scan(&id, &emb, &cat); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(emb, blob(base.Vectors[id-1])) || cat != int(base.Pos[id-1]) {
			t.Fatalf("%s: row %d differs from what the writer inserted", what, id)
		}
		seen++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if seen != n {
		t.Fatalf("%s: read %d rows, count(*) said %d", what, seen, n)
	}
	if b == 0 {
		return 0
	}
	// Every answer as the source gave it after b batches; recall against the
	// brute force over those rows.
	var sum float64
	diff := 0
	for _, q := range qs {
		got, err := knn(ctx, db, queries[q.qi], q.cat)
		if err != nil {
			t.Fatalf("%s: query %v: %v", what, q, err)
		}
		if want := answers[b][q]; fmt.Sprint(got) != fmt.Sprint(want) {
			diff++
			t.Errorf("%s (%d batches): query %d cat %d:\n got %v\nwant %v (the source's after batch %d)", what, b, q.qi, q.cat, got, want, b)
		}
		sum += recall(got, brute(base, n, queries[q.qi], q.cat))
	}
	r := sum / float64(len(qs))
	var info string
	if err := db.QueryRowContext(ctx, `SELECT json_extract(veclite_info('docs'), '$.index_loads') || ' load(s), ' || json_extract(veclite_info('docs'), '$.last_load_ms') || ' ms'`).Scan(&info); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d rows = %d batches; %d of %d answers identical to the source's after batch %d; mean recall@10 %.4f; index %s",
		what, n, b, len(qs)-diff, len(qs), b, r, info)
	if r < minRecall {
		t.Errorf("%s: mean recall@10 %.4f below %.2f", what, r, minRecall)
	}
	// How sharp the comparison is: the answers that the batch before and the
	// batch after would have changed.
	for _, nb := range []int{b - 1, b + 1} {
		if nb < 1 || nb > nBatches {
			continue
		}
		moved := 0
		for _, q := range qs {
			if fmt.Sprint(answers[nb][q]) != fmt.Sprint(answers[b][q]) {
				moved++
			}
		}
		t.Logf("%s: the source's answers after batch %d differ from those after batch %d in %d of %d queries", what, nb, b, moved, len(qs))
	}
	var tables string
	if err := db.QueryRowContext(ctx, `SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name)`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: tables %s", what, tables)
	return b
}
