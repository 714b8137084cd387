package cluster_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canonical/go-dqlite/app"
	"github.com/canonical/go-dqlite/client"
	veclite "github.com/veclite/veclite/go"
	"github.com/veclite/veclite/go/cluster"
	"github.com/veclite/veclite/go/internal/knntest"
	"github.com/veclite/veclite/go/internal/wordnet"
)

const (
	nRows    = 10000 // the in-repo slice
	batch    = 500   // rows per insert transaction
	nQueries = 40    // held-out queries, each unfiltered and filtered
	k        = knntest.K
	distEps  = 1e-5 // veclite's float32 distance vs the float64 brute force
	tieEps   = 1e-6 // distances this close stand in for each other
	// floors for the mean recall@10 (on one node this data gives about 0.99)
	minRecall         = 0.95
	minFilteredRecall = 0.95
)

type hit = knntest.Hit

func blob(v []float32) []byte { return veclite.Vector(v).Blob() }

// fixture: the first nRows rows and the queries.
type fixture struct {
	base    *wordnet.Base
	queries [][]float32
}

func load(t *testing.T) *fixture {
	t.Helper()
	dir, err := wordnet.Dir()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{}
	if f.base, err = wordnet.LoadBase(dir, nRows); err != nil {
		t.Fatal(err)
	}
	if f.queries, err = wordnet.LoadQueries(dir, nQueries); err != nil {
		t.Fatal(err)
	}
	return f
}

// brute returns the k nearest rows among those with category cat (cat < 0: all
// rows).
func (f *fixture) brute(q []float32, cat int) []hit {
	return knntest.Brute(f.base, len(f.base.Vectors), q, cat)
}

func recall(got, want []hit) float64 { return knntest.Recall(got, want, tieEps) }

// query is one KNN statement of the test: query qi, unfiltered (cat < 0) or with
// `AND cat = ?`.
type query struct {
	qi, cat int
}

func (q query) String() string { return fmt.Sprintf("query %d cat %d", q.qi, q.cat) }

func (f *fixture) queriesToRun() []query {
	var qs []query
	for qi := range f.queries {
		qs = append(qs, query{qi, -1}, query{qi, qi % 4})
	}
	return qs
}

var knn = knntest.KNN
var l2 = knntest.L2

func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	var ls []net.Listener
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

func scalar(ctx context.Context, db *sql.DB, s string, args ...any) (string, error) {
	var v sql.NullString
	err := db.QueryRowContext(ctx, s, args...).Scan(&v)
	return v.String, err
}

// TestThreeNodes: a 3-node dqlite cluster in this process, veclite in every
// connection; 10k rows through the leader; KNN (plain and filtered) against the
// brute force; the leader stopped; on the new leader the same answers, a clean
// veclite_check, and a new row that is found.
func TestThreeNodes(t *testing.T) {
	path, err := cluster.ExtensionPath()
	if err != nil {
		t.Fatal(err)
	}
	if err := cluster.Register(path); err != nil {
		t.Fatal(err)
	}
	t.Logf("SQLite %s, veclite %s", cluster.SQLiteVersion(), path)
	f := load(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	addrs := freeAddrs(t, 3)
	root := t.TempDir()
	logf := func(l client.LogLevel, format string, a ...interface{}) {
		if l >= client.LogError { // warnings: the dials of the stopped leader
			log.Printf("dqlite %s: %s", l, fmt.Sprintf(format, a...))
		}
	}
	nodes := make([]*app.App, 3)
	closed := make([]bool, 3)
	t.Cleanup(func() {
		for i, n := range nodes {
			if n != nil && !closed[i] {
				n.Close()
			}
		}
	})
	start := time.Now()
	for i := range nodes {
		dir := filepath.Join(root, fmt.Sprintf("node%d", i+1))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		opts := []app.Option{app.WithAddress(addrs[i]), app.WithLogFunc(logf)}
		if i > 0 {
			opts = append(opts, app.WithCluster([]string{addrs[0]}))
		}
		if nodes[i], err = app.New(dir, opts...); err != nil {
			t.Fatalf("node %d: %v", i+1, err)
		}
		if err := nodes[i].Ready(ctx); err != nil {
			t.Fatalf("node %d ready: %v", i+1, err)
		}
	}
	// Wait for three voters, so the cluster survives losing the leader.
	for {
		cli, err := nodes[0].Leader(ctx)
		if err == nil {
			servers, err := cli.Cluster(ctx)
			cli.Close()
			voters := 0
			for _, s := range servers {
				if err == nil && s.Role == client.Voter {
					voters++
				}
			}
			if voters == 3 {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatal("three voters: timed out")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("3 voters after %v", time.Since(start).Round(time.Millisecond))

	db, err := nodes[0].Open(ctx, "docs")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// One connection: one leader-side SQLite connection, so veclite_info below
	// describes the index the KNN queries used.
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE VIRTUAL TABLE docs USING veclite(embedding float[384], cat integer)`); err != nil {
		t.Fatalf("create: %v", err)
	}
	start = time.Now()
	for lo := 0; lo < nRows; lo += batch {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO docs(rowid, embedding, cat) VALUES (?, ?, ?)`)
		if err != nil {
			t.Fatal(err)
		}
		for i := lo; i < min(lo+batch, nRows); i++ {
			if _, err := st.ExecContext(ctx, i+1, blob(f.base.Vectors[i]), int(f.base.Pos[i])); err != nil {
				t.Fatalf("insert row %d: %v", i+1, err)
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			t.Fatalf("commit rows %d..%d: %v", lo+1, lo+batch, err)
		}
	}
	t.Logf("inserted %d rows in transactions of %d through the leader in %v", nRows, batch, time.Since(start).Round(time.Millisecond))
	if n, err := scalar(ctx, db, `SELECT count(*) FROM docs`); err != nil || n != fmt.Sprint(nRows) {
		t.Fatalf("count(*) = %q, %v", n, err)
	}
	// dqlite's VFS is in memory: the file name is no file of the file system, so
	// veclite keeps the index private to the connection (no registry key, so
	// nothing is shared across connections, let alone across the three nodes).
	if file, err := scalar(ctx, db, `SELECT file FROM pragma_database_list WHERE name = 'main'`); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("main's file name under dqlite's VFS: %q", file)
	}
	if v, err := scalar(ctx, db, `SELECT json_extract(veclite_info('docs'), '$.shared_index')`); err != nil || v != "0" {
		t.Fatalf("veclite_info shared_index = %q (%v), want 0: a dqlite database is not a file, its index must stay private", v, err)
	}

	// KNN against the brute force, on the first leader.
	start = time.Now()
	qs := f.queriesToRun()
	answers := map[query][]hit{}
	var sum, sumF float64
	for _, q := range qs {
		got, err := knn(ctx, db, f.queries[q.qi], q.cat)
		if err != nil {
			t.Fatalf("%v: %v", q, err)
		}
		want := f.brute(f.queries[q.qi], q.cat)
		if len(got) != len(want) {
			t.Fatalf("%v: %d rows, want %d", q, len(got), len(want))
		}
		for i, h := range got {
			row := int(h.ID) - 1
			if row < 0 || row >= nRows {
				t.Fatalf("%v: rowid %d", q, h.ID)
			}
			if q.cat >= 0 && int(f.base.Pos[row]) != q.cat {
				t.Fatalf("%v: rowid %d has cat %d", q, h.ID, f.base.Pos[row])
			}
			d := l2(f.queries[q.qi], f.base.Vectors[row])
			if math.Abs(d-h.Dist) > distEps {
				t.Fatalf("%v: rowid %d distance %g, brute force %g", q, h.ID, h.Dist, d)
			}
			if i > 0 && h.Dist < got[i-1].Dist {
				t.Fatalf("%v: not ordered by distance: %v", q, got)
			}
		}
		if q.cat < 0 {
			sum += recall(got, want)
		} else {
			sumF += recall(got, want)
		}
		answers[q] = got
	}
	r, rf := sum/nQueries, sumF/nQueries
	t.Logf("leader %s: mean recall@10 %.4f unfiltered, %.4f with cat = ? (%d queries each, %v)",
		addrs[0], r, rf, nQueries, time.Since(start).Round(time.Millisecond))
	if r < minRecall || rf < minFilteredRecall {
		t.Fatalf("recall %.4f / %.4f below %.2f / %.2f", r, rf, minRecall, minFilteredRecall)
	}
	if v, err := scalar(ctx, db, `SELECT veclite_check('docs')`); err != nil || v != "ok" {
		t.Fatalf("veclite_check on the first leader: %q, %v", v, err)
	}
	db.Close()

	// Stop the leader (no handover: the node just goes away).
	cli, err := nodes[0].Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leader, err := cli.Leader(ctx)
	cli.Close()
	if err != nil || leader.Address != addrs[0] {
		t.Fatalf("leader is %+v (%v), expected the bootstrap node %s", leader, err, addrs[0])
	}
	start = time.Now()
	if err := nodes[0].Close(); err != nil {
		t.Fatalf("closing the leader: %v", err)
	}
	closed[0] = true
	var newLeader string
	for newLeader == "" {
		if ctx.Err() != nil {
			t.Fatal("no new leader: timed out")
		}
		if cli, err := nodes[1].Leader(ctx); err == nil {
			if l, err := cli.Leader(ctx); err == nil && l != nil && l.Address != addrs[0] {
				newLeader = l.Address
			}
			cli.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("new leader %s after %v", newLeader, time.Since(start).Round(time.Millisecond))
	db2, err := nodes[1].Open(ctx, "docs")
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	db2.SetMaxOpenConns(1)
	// The followers applied the leader's pages (no SQL ran on them): the new
	// leader's connection has no index until its first KNN query loads it.
	if v, err := scalar(ctx, db2, `SELECT json_extract(veclite_info('docs'), '$.index_loaded') || ',' || json_extract(veclite_info('docs'), '$.rows') || ',' || json_extract(veclite_info('docs'), '$.shared_index')`); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("new leader before any KNN: index_loaded,rows,shared_index = %s", v)
		if v != fmt.Sprintf("0,%d,0", nRows) {
			t.Fatalf("new leader before any KNN: index_loaded,rows,shared_index = %s, want 0,%d,0", v, nRows)
		}
	}
	start = time.Now()
	same := 0
	for _, q := range qs {
		got, err := knn(ctx, db2, f.queries[q.qi], q.cat)
		if err != nil {
			t.Fatalf("new leader, %v: %v", q, err)
		}
		want := answers[q]
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("new leader, %v:\n got %v\nwant %v (the old leader's)", q, got, want)
			continue
		}
		same++
	}
	t.Logf("new leader: %d of %d answers identical to the old leader's (%v)", same, len(qs), time.Since(start).Round(time.Millisecond))
	if v, err := scalar(ctx, db2, `SELECT json_extract(veclite_info('docs'), '$.index_loads') || ',' || json_extract(veclite_info('docs'), '$.last_load_ms')`); err == nil {
		t.Logf("new leader's connection: index_loads,last_load_ms = %s", v)
		if !strings.HasPrefix(v, "1,") {
			t.Errorf("new leader's connection loaded the index %s times, want once", v)
		}
	} else {
		t.Fatal(err)
	}
	if v, err := scalar(ctx, db2, `SELECT veclite_check('docs')`); err != nil || v != "ok" {
		t.Fatalf("veclite_check on the new leader: %q, %v", v, err)
	}

	// A write on the new leader is searchable: query 0's own vector as a new row
	// of a new category.
	const newID, newCat = nRows + 1, 9
	if _, err := db2.ExecContext(ctx, `INSERT INTO docs(rowid, embedding, cat) VALUES (?, ?, ?)`, newID, blob(f.queries[0]), newCat); err != nil {
		t.Fatalf("insert on the new leader: %v", err)
	}
	got, err := knn(ctx, db2, f.queries[0], -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != k || got[0].ID != newID || got[0].Dist > 1e-6 {
		t.Fatalf("after the insert on the new leader, query 0's nearest: %v, want rowid %d at distance 0", got, newID)
	}
	if fmt.Sprint(got[1:]) != fmt.Sprint(answers[query{0, -1}][:k-1]) {
		t.Errorf("after the insert, query 0's other rows %v, want the first 9 of %v", got[1:], answers[query{0, -1}])
	}
	if got, err = knn(ctx, db2, f.queries[0], newCat); err != nil || len(got) != 1 || got[0].ID != newID {
		t.Fatalf("cat = %d after the insert: %v, %v; want only rowid %d", newCat, got, err, newID)
	}
	if v, err := scalar(ctx, db2, `SELECT veclite_check('docs')`); err != nil || v != "ok" {
		t.Fatalf("veclite_check after the write on the new leader: %q, %v", v, err)
	}
	if n, err := scalar(ctx, db2, `SELECT count(*) FROM docs`); err != nil || n != fmt.Sprint(nRows+1) {
		t.Fatalf("count(*) after the insert: %q, %v", n, err)
	}

	// Two connections to the new leader: each has its own private index (no
	// registry key), and one sees what the other commits.
	db2.SetMaxOpenConns(2)
	c1, err := db2.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	c2, err := db2.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	catKNN := func(c *sql.Conn) ([]int64, error) {
		rows, err := c.QueryContext(ctx, `SELECT rowid FROM docs WHERE knn_match(embedding, ?) AND k = 10 AND cat = ?`, blob(f.queries[1]), newCat)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		return ids, rows.Err()
	}
	if ids, err := catKNN(c1); err != nil || fmt.Sprint(ids) != fmt.Sprint([]int64{newID}) {
		t.Fatalf("connection 1, cat = %d: %v, %v; want [%d]", newCat, ids, err, newID)
	}
	if _, err := c2.ExecContext(ctx, `INSERT INTO docs(rowid, embedding, cat) VALUES (?, ?, ?)`, newID+1, blob(f.queries[1]), newCat); err != nil {
		t.Fatalf("connection 2, insert: %v", err)
	}
	if ids, err := catKNN(c1); err != nil || fmt.Sprint(ids) != fmt.Sprint([]int64{newID + 1, newID}) {
		t.Fatalf("connection 1 after connection 2's insert, cat = %d: %v, %v; want [%d %d]", newCat, ids, err, newID+1, newID)
	}
	var info1, info2 string
	if err := c1.QueryRowContext(ctx, `SELECT json_extract(veclite_info('docs'), '$.index_loads', '$.index_catch_ups', '$.shared_index')`).Scan(&info1); err != nil {
		t.Fatal(err)
	}
	if err := c2.QueryRowContext(ctx, `SELECT json_extract(veclite_info('docs'), '$.index_loads', '$.index_catch_ups', '$.shared_index')`).Scan(&info2); err != nil {
		t.Fatal(err)
	}
	t.Logf("two connections on the new leader: [index_loads, index_catch_ups, shared_index] %s and %s", info1, info2)
}
