package veclite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	veclite "github.com/veclite/veclite/go"
	"github.com/veclite/veclite/go/internal/wordnet"
)

const (
	nRows    = 10000 // rows of wordnet-minilm the tests insert
	nQueries = 60    // held-out queries the KNN test runs
	tieEps   = 1e-6  // distances this close count as ties
	distEps  = 1e-5  // veclite's float32 distance vs the float64 brute force
)

// fixture is the first nRows of the data set, loaded once per test binary.
type fixture struct {
	base    *wordnet.Base
	norms   []float64
	queries [][]float32
	gt      [][]int32
}

var (
	fixtureOnce sync.Once
	fix         *fixture
	fixErr      error
)

func loadFixture(t *testing.T) *fixture {
	t.Helper()
	fixtureOnce.Do(func() {
		dir, err := wordnet.Dir()
		if err != nil {
			fixErr = err
			return
		}
		f := &fixture{}
		if f.base, err = wordnet.LoadBase(dir, nRows); err != nil {
			fixErr = err
			return
		}
		if f.queries, err = wordnet.LoadQueries(dir, wordnet.NQueries); err != nil {
			fixErr = err
			return
		}
		if f.gt, err = wordnet.LoadGT10k(dir, nQueries); err != nil {
			fixErr = err
			return
		}
		f.norms = make([]float64, nRows)
		for i, v := range f.base.Vectors {
			f.norms[i] = math.Sqrt(dot(v, v))
		}
		fix = f
	})
	if fixErr != nil {
		t.Fatalf("loading the wordnet-minilm data: %v", fixErr)
	}
	return fix
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// hit is one KNN result row; id is the rowid (base index + 1).
type hit struct {
	id   int64
	dist float64
}

// distances returns the cosine distance from q to every base row, in float64.
func (f *fixture) distances(q []float32) []float64 {
	qn := math.Sqrt(dot(q, q))
	out := make([]float64, len(f.base.Vectors))
	for i, v := range f.base.Vectors {
		out[i] = 1 - dot(q, v)/(qn*f.norms[i])
	}
	return out
}

// bruteForce returns the k nearest rows among those match accepts, and how many
// rows match.
func bruteForce(dists []float64, k int, match func(i int) bool) ([]hit, int) {
	var all []hit
	for i, d := range dists {
		if match(i) {
			all = append(all, hit{int64(i + 1), d})
		}
	}
	sort.Slice(all, func(a, b int) bool {
		if all[a].dist != all[b].dist {
			return all[a].dist < all[b].dist
		}
		return all[a].id < all[b].id
	})
	return all[:min(k, len(all))], len(all)
}

// checkKNN compares veclite's answer with the brute force (want: the true
// min(k, matching) nearest matching rows). It always checks that there are exactly
// len(want) rows, all matching, none repeated, ordered by distance then rowid, with
// distances that agree with the brute force. With exact set it also requires recall
// 1.0, rows whose distances tie within tieEps standing in for each other. It
// returns the recall: the fraction of the rows returned that are among the true
// nearest (up to ties).
func checkKNN(t *testing.T, what string, got, want []hit, dists []float64, match func(i int) bool, exact bool) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d", what, len(got), len(want))
		return 0
	}
	if len(want) == 0 {
		return 1
	}
	kth := want[len(want)-1].dist
	seen := map[int64]bool{}
	good := 0
	for j, h := range got {
		i := int(h.id - 1)
		if i < 0 || i >= len(dists) || seen[h.id] {
			t.Errorf("%s: row %d: rowid %d is out of range or repeated", what, j, h.id)
			return 0
		}
		seen[h.id] = true
		if !match(i) {
			t.Errorf("%s: row %d: rowid %d does not match the filter", what, j, h.id)
		}
		if math.Abs(h.dist-dists[i]) > distEps {
			t.Errorf("%s: rowid %d: distance %.8f, brute force %.8f", what, h.id, h.dist, dists[i])
		}
		if dists[i] <= kth+tieEps {
			good++
		} else if exact {
			t.Errorf("%s: rowid %d (distance %.8f) is not among the %d nearest (k-th distance %.8f)",
				what, h.id, dists[i], len(want), kth)
		}
		if j > 0 {
			p := got[j-1]
			if h.dist < p.dist || (h.dist == p.dist && h.id < p.id) {
				t.Errorf("%s: rows %d and %d out of order: (%d, %v) then (%d, %v)", what, j-1, j, p.id, p.dist, h.id, h.dist)
			}
		}
	}
	if exact {
		for _, w := range want {
			if !seen[w.id] && w.dist < kth-tieEps {
				t.Errorf("%s: missed rowid %d at distance %.8f (k-th %.8f)", what, w.id, w.dist, kth)
			}
		}
	}
	return float64(good) / float64(len(want))
}

// newWordnetDB creates a file database in a temp dir holding
// docs(embedding float[384], pos integer, lex integer, distance = cosine) with the
// first n fixture rows, inserted in one transaction, rowid = base index + 1.
func newWordnetDB(t *testing.T, f *fixture, n int, dsnParams string) *sql.DB {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "wordnet.db") + dsnParams
	db, err := veclite.Open(dsn, veclite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE VIRTUAL TABLE docs USING veclite(
		embedding float[384], pos integer, lex integer, distance = cosine)`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := tx.Prepare(`INSERT INTO docs(rowid, embedding, pos, lex) VALUES (?, ?, ?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := stmt.Exec(i+1, veclite.Vector(f.base.Vectors[i]), f.base.Pos[i], f.base.Lex[i]); err != nil {
			t.Fatalf("insert row %d: %v", i+1, err)
		}
	}
	if err := stmt.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	t.Logf("inserted %d rows in one transaction in %v", n, time.Since(start).Round(time.Millisecond))
	return db
}

// querier is a *sql.DB, a *sql.Tx or a sqlConn.
type querier interface {
	Query(query string, args ...any) (*sql.Rows, error)
	QueryRow(query string, args ...any) *sql.Row
}

// sqlConn gives a *sql.Conn the context-free methods of *sql.DB.
type sqlConn struct{ *sql.Conn }

func (c sqlConn) Query(q string, args ...any) (*sql.Rows, error) {
	return c.QueryContext(context.Background(), q, args...)
}

func (c sqlConn) QueryRow(q string, args ...any) *sql.Row {
	return c.QueryRowContext(context.Background(), q, args...)
}

// knn runs a KNN query on docs with extra WHERE terms and their arguments.
func knn(q querier, query any, k int, where string, args ...any) ([]hit, error) {
	sqlText := `SELECT rowid, distance FROM docs WHERE knn_match(embedding, ?) AND k = ?` + where
	rows, err := q.Query(sqlText, append([]any{query, k}, args...)...)
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

// filter is a metadata filter as SQL terms and as a Go predicate on base indexes.
type filter struct {
	name   string
	approx bool // may walk the HNSW graph: recall below 1.0 allowed
	where  string
	args   []any
	match  func(i int) bool
}

func (f *fixture) filters() []filter {
	pos, lex := f.base.Pos, f.base.Lex
	// The rarest lexname in the rows: fewer matches than k.
	var counts [256]int
	for _, l := range lex {
		counts[l]++
	}
	rare := -1
	for l, c := range counts {
		if c > 0 && (rare < 0 || c < counts[rare]) {
			rare = l
		}
	}
	// 500 random rowids for rowid IN (subquery).
	rng := rand.New(rand.NewSource(6))
	picked := map[int]bool{}
	var ids []int
	for len(ids) < 500 {
		id := rng.Intn(nRows) + 1
		if !picked[id] {
			picked[id] = true
			ids = append(ids, id)
		}
	}
	idsJSON, _ := json.Marshal(ids)

	return []filter{
		{"no filter", true, "", nil, func(int) bool { return true }},
		{"no filter, ef = 500", true, " AND ef = 500", nil, func(int) bool { return true }},
		{"all rows through a filter (rowid >= 1)", true, " AND rowid >= 1", nil, func(int) bool { return true }},
		{"pos = 3 (adverbs, 3%)", false, " AND pos = ?", []any{3}, func(i int) bool { return pos[i] == 3 }},
		{"verbs of 3 lexnames", false, " AND pos = 1 AND lex IN (29, 30, 31)", nil,
			func(i int) bool { return pos[i] == 1 && (lex[i] == 29 || lex[i] == 30 || lex[i] == 31) }},
		{fmt.Sprintf("rarest lexname %d (%d rows)", rare, counts[rare]), false, " AND lex = ?", []any{rare},
			func(i int) bool { return int(lex[i]) == rare }},
		{"ranges", false, " AND pos >= 2 AND lex > 10 AND rowid BETWEEN 2000 AND 7999", nil,
			func(i int) bool { return pos[i] >= 2 && lex[i] > 10 && i+1 >= 2000 && i+1 <= 7999 }},
		{"pos != 0", true, " AND pos != 0", nil, func(i int) bool { return pos[i] != 0 }},
		{"one row", false, " AND rowid = ?", []any{4321}, func(i int) bool { return i+1 == 4321 }},
		{"no rows", false, " AND lex = 99", nil, func(int) bool { return false }},
		{"rowid IN (subquery)", false, " AND rowid IN (SELECT value FROM json_each(?))", []any{string(idsJSON)},
			func(i int) bool { return picked[i+1] }},
	}
}

// TestKNN inserts 10k rows and compares KNN answers, with and without metadata
// filters, to a brute-force cosine search.
func TestKNN(t *testing.T) {
	f := loadFixture(t)
	db := newWordnetDB(t, f, nRows, "")

	var count int
	if err := db.QueryRow(`SELECT count(*) FROM docs`).Scan(&count); err != nil || count != nRows {
		t.Fatalf("count(*) = %d, %v; want %d", count, err, nRows)
	}

	// The stored vectors read back exactly as inserted.
	var back veclite.Vector
	if err := db.QueryRow(`SELECT embedding FROM docs WHERE rowid = 77`).Scan(&back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, veclite.Vector(f.base.Vectors[76])) {
		t.Errorf("rowid 77 reads back as %v", back[:4])
	}

	filters := f.filters()
	// The graph walk (unfiltered queries on a table of exact_threshold rows or
	// more) is approximate: its mean recall must clear these floors (measured on
	// this data: 0.99 at k=10 and 0.96 at k=100 with the default ef_search = 64;
	// 0.9995 and more with ef = 500).
	// A filter that keeps most rows is answered by the filtered graph walk too.
	floor := map[string]float64{"no filter": 0.9, "no filter, ef = 500": 0.99, "all rows through a filter (rowid >= 1)": 0.9, "pos != 0": 0.9}
	recall, runs := map[string]float64{}, map[string]int{}
	start := time.Now()
	nq := 0
	for qi := 0; qi < nQueries; qi++ {
		q := veclite.Vector(f.queries[qi])
		dists := f.distances(q)

		// The brute force agrees with the data set's ground truth (this checks the
		// float16 decoding as much as anything).
		want, _ := bruteForce(dists, 10, func(int) bool { return true })
		gt := make([]hit, 10)
		for j := range gt {
			gt[j] = hit{int64(f.gt[qi][j]) + 1, dists[f.gt[qi][j]]}
		}
		checkKNN(t, fmt.Sprintf("query %d: brute force vs gt10k", qi), want, gt, dists, func(int) bool { return true }, true)

		for _, fl := range filters {
			for _, k := range []int{1, 10, 100} {
				if k == 1 && qi%5 != 0 {
					continue
				}
				got, err := knn(db, q, k, fl.where, fl.args...)
				nq++
				if err != nil {
					t.Fatalf("query %d, %s, k=%d: %v", qi, fl.name, k, err)
				}
				want, matching := bruteForce(dists, k, fl.match)
				if len(want) != min(k, matching) {
					t.Fatalf("brute force broken")
				}
				r := checkKNN(t, fmt.Sprintf("query %d, %s, k=%d", qi, fl.name, k), got, want, dists, fl.match, !fl.approx)
				if fl.approx {
					key := fmt.Sprintf("%s, k=%d", fl.name, k)
					recall[key] += r
					runs[key]++
				}
			}
		}
	}
	t.Logf("%d KNN queries checked against brute force in %v", nq, time.Since(start).Round(time.Millisecond))
	for _, fl := range filters {
		for _, k := range []int{1, 10, 100} {
			key := fmt.Sprintf("%s, k=%d", fl.name, k)
			if runs[key] == 0 {
				continue
			}
			mean := recall[key] / float64(runs[key])
			t.Logf("graph walk, %s: mean recall %.4f over %d queries", key, mean, runs[key])
			if mean < floor[fl.name] {
				t.Errorf("graph walk, %s: mean recall %.4f, below %.2f", key, mean, floor[fl.name])
			}
		}
	}

	// The other spellings give the same answer: JSON text query, MATCH, and the
	// table-valued form.
	q := veclite.Vector(f.queries[7])
	ref, err := knn(db, q, 20, " AND pos = 2")
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(f.queries[7]) // shortest float32 round-trip text
	spellings := map[string]string{
		"JSON text": `SELECT rowid, distance FROM docs WHERE knn_match(embedding, ?) AND k = ? AND pos = 2`,
		"MATCH":     `SELECT rowid, distance FROM docs WHERE embedding MATCH ? AND k = ? AND pos = 2`,
		"table-valued": `SELECT rowid, distance FROM docs(?, ?) WHERE pos = 2
		                  ORDER BY distance, rowid`,
	}
	for name, sqlText := range spellings {
		var arg any = q
		if name == "JSON text" {
			arg = string(js)
		}
		rows, err := db.Query(sqlText, arg, 20)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []hit
		for rows.Next() {
			var h hit
			if err := rows.Scan(&h.id, &h.dist); err != nil {
				t.Fatal(err)
			}
			got = append(got, h)
		}
		rows.Close()
		if fmt.Sprint(got) != fmt.Sprint(ref) {
			t.Errorf("%s: %v, want %v", name, got, ref)
		}
	}
}

// TestRollback checks that rolled-back writes (inserts, deletes, updates of vectors
// and metadata) leave KNN answers exactly as before, on the writing connection and
// on another one, and that ROLLBACK TO a savepoint undoes only what followed it.
func TestRollback(t *testing.T) {
	f := loadFixture(t)
	db := newWordnetDB(t, f, nRows, "")
	c1, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	c2, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()

	type probe struct {
		q     veclite.Vector
		where string
	}
	var probes []probe
	for qi := 100; qi < 120; qi++ {
		probes = append(probes, probe{f.queries[qi], ""}, probe{f.queries[qi], " AND pos = 1"})
	}
	snapshot := func(c querier) string {
		t.Helper()
		var b strings.Builder
		for _, p := range probes {
			got, err := knn(c, p.q, 10, p.where)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, got)
		}
		var n int
		if err := c.QueryRow(`SELECT count(*) FROM docs`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, "count", n)
		return b.String()
	}
	before1, before2 := snapshot(sqlConn{c1}), snapshot(sqlConn{c2})
	if before1 != before2 {
		t.Fatal("two connections disagree before any write")
	}

	// fail ends the test from inside a transaction (rolling it back first, or the
	// deferred Conn.Close would wait for it forever).
	fail := func(tx *sql.Tx, err error) {
		t.Helper()
		tx.Rollback()
		t.Fatal(err)
	}
	write := func(tx *sql.Tx) {
		t.Helper()
		for j := 0; j < 10; j++ {
			p := probes[2*j] // probes come in pairs with the same query
			// The query itself (distance 0), the current nearest row deleted, another
			// row moved onto the query, and one row's metadata changed.
			if _, err := tx.Exec(`INSERT INTO docs(rowid, embedding, pos, lex) VALUES (?, ?, 1, 0)`, 200000+j, p.q); err != nil {
				fail(tx, err)
			}
			top, err := knn(tx, p.q, 3, "")
			if err != nil {
				fail(tx, err)
			}
			if top[0].id != int64(200000+j) || top[0].dist > 1e-6 {
				fail(tx, fmt.Errorf("inside the transaction the inserted row is not nearest: %v", top))
			}
			if _, err := tx.Exec(`DELETE FROM docs WHERE rowid = ?`, top[1].id); err != nil {
				fail(tx, err)
			}
			if _, err := tx.Exec(`UPDATE docs SET embedding = ?, pos = 3 WHERE rowid = ?`, p.q, 9000+j); err != nil {
				fail(tx, err)
			}
			if _, err := tx.Exec(`UPDATE docs SET pos = 1 WHERE rowid = ?`, top[2].id); err != nil {
				fail(tx, err)
			}
		}
		if _, err := tx.Exec(`DELETE FROM docs WHERE rowid <= 500`); err != nil {
			fail(tx, err)
		}
	}

	tx, err := c1.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	write(tx)
	if during := snapshot(tx); during == before1 {
		t.Fatal("the writes changed nothing visible inside the transaction")
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(sqlConn{c1}); after != before1 {
		t.Errorf("after ROLLBACK the writing connection answers differently:\nbefore %s\nafter  %s", before1, after)
	}
	if after := snapshot(sqlConn{c2}); after != before1 {
		t.Errorf("after ROLLBACK another connection answers differently:\nbefore %s\nafter  %s", before1, after)
	}

	// Savepoints: keep the first insert, roll back the rest.
	tx, err = c1.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO docs(rowid, embedding, pos, lex) VALUES (300000, ?, 0, 0)`, probes[0].q); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`SAVEPOINT sp`); err != nil {
		t.Fatal(err)
	}
	write(tx)
	if _, err := tx.Exec(`ROLLBACK TO sp`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`RELEASE sp`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []querier{sqlConn{c1}, sqlConn{c2}} {
		got, err := knn(c, probes[0].q, 2, "")
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := knn(sqlConn{c1}, probes[0].q, 1, " AND rowid != 300000")
		// ref comes from a filtered search, got from the unfiltered graph walk:
		// the same row, its distance equal up to float32 rounding.
		if len(got) != 2 || got[0].id != 300000 || got[1].id != ref[0].id || math.Abs(got[1].dist-ref[0].dist) > distEps {
			t.Errorf("after ROLLBACK TO + COMMIT: %v, want rowid 300000 then %v", got, ref)
		}
		var n int
		if err := c.QueryRow(`SELECT count(*) FROM docs`).Scan(&n); err != nil || n != nRows+1 {
			t.Errorf("after ROLLBACK TO + COMMIT: count %d (%v), want %d", n, err, nRows+1)
		}
	}
}
