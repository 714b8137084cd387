package veclite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
	veclite "github.com/veclite/veclite/go"
)

// TestPool runs 16 searching goroutines and one writing goroutine through
// database/sql's pool (unlimited open connections) on one WAL file database.
// Every search runs in a read transaction that first reads state(n), the number
// of the committed state the transaction sees; the answer must be brute force
// over that state of the writer's model (exactly, or for the graph at recall@10
// >= 0.9 with every returned row alive at that state at its true distance).
// Every transaction also reads veclite_info with the connection's number (from
// temp.connid), so the full loads of connections the pool has closed count too.
// Afterwards the table checks "ok" and the pool's connections share one index:
// at most two full loads (one is the creating connection's first write into the
// empty table) over every connection the pool opened, and, once each held
// connection has searched the last state, at most two versions alive and one
// memory_bytes figure.
func TestPool(t *testing.T) {
	for _, tc := range []struct {
		name  string
		exact bool
		idle  int // db.SetMaxIdleConns; 0 keeps database/sql's default (2)
	}{
		{"exact", true, 64},
		{"exact-default-idle", true, 0}, // connections are closed and reopened all along
		{"graph", false, 64},
	} {
		t.Run(tc.name, func(t *testing.T) { poolRun(t, tc.exact, tc.idle) })
	}
}

const (
	poolDims     = 8
	poolInitial  = 3000
	poolReaders  = 16
	poolK        = 10
	poolCommits  = 300             // the writer stops after this many transactions
	poolDuration = 4 * time.Second // ... or after this long
	poolEps      = 1e-4            // veclite's float32 L2 distance vs float64 brute force
)

var poolCategories = []string{"a", "b", "c", "d", "e"}

// poolRow is one version of a row: alive in states born <= n < died.
type poolRow struct {
	id         int64
	vec        []float32
	cat        string
	born, died int
}

// poolModel is what the table holds in every committed state.
type poolModel struct {
	mu   sync.RWMutex
	rows []poolRow
	live map[int64]int // rowid -> index in rows of its live version
	last int           // the newest state recorded (recorded before its COMMIT)
}

type poolHit struct {
	id   int64
	dist float64
}

func poolVec(rng *rand.Rand) []float32 {
	v := make([]float32, poolDims)
	for i := range v {
		v[i] = rng.Float32()*2 - 1
	}
	return v
}

func poolL2(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s)
}

// brute returns the k nearest rows of state n (among category cat unless ""),
// and every row alive in state n (among cat) by rowid, with its distance.
func (m *poolModel) brute(n int, q []float32, k int, cat string) ([]poolHit, map[int64]float64) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	alive := map[int64]float64{}
	var all []poolHit
	for _, r := range m.rows {
		if r.born <= n && n < r.died && (cat == "" || r.cat == cat) {
			d := poolL2(q, r.vec)
			alive[r.id] = d
			all = append(all, poolHit{r.id, d})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].dist != all[j].dist {
			return all[i].dist < all[j].dist
		}
		return all[i].id < all[j].id
	})
	if len(all) > k {
		all = all[:k]
	}
	return all, alive
}

// poolOp is one write of a transaction, applied to the model with the state number.
type poolOp struct {
	kind string // insert, update, delete
	id   int64
	vec  []float32
	cat  string
}

func (m *poolModel) apply(n int, ops []poolOp) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, op := range ops {
		if i, ok := m.live[op.id]; ok && op.kind != "insert" {
			m.rows[i].died = n
			delete(m.live, op.id)
		}
		if op.kind != "delete" {
			m.live[op.id] = len(m.rows)
			m.rows = append(m.rows, poolRow{op.id, op.vec, op.cat, n, math.MaxInt})
		}
	}
	m.last = n
}

// liveIDs returns the rowids alive in the newest recorded state (the writer's view).
func (m *poolModel) liveIDs() []int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	ids := make([]int64, 0, len(m.live))
	for id := range m.live {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

type poolQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func poolKNN(ctx context.Context, q poolQuerier, vec []float32, cat string) ([]poolHit, error) {
	sqlText := `SELECT rowid, distance FROM t WHERE knn_match(embedding, ?) AND k = ?`
	args := []any{veclite.Vector(vec), poolK}
	if cat != "" {
		sqlText += ` AND category = ?`
		args = append(args, cat)
	}
	rows, err := q.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []poolHit
	for rows.Next() {
		var h poolHit
		if err := rows.Scan(&h.id, &h.dist); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// poolCompare checks got against state n: every row alive there at its true
// distance, ordered, min(k, matching rows) of them; exactly the brute-force
// answer (ties aside) when exact. It returns how many of the true 10 were found.
func poolCompare(got, want []poolHit, alive map[int64]float64, exact bool) (int, error) {
	wantLen := len(want)
	if len(got) != wantLen {
		return 0, fmt.Errorf("%d rows, want %d (got %v, want %v)", len(got), wantLen, got, want)
	}
	seen := map[int64]bool{}
	for i, h := range got {
		d, ok := alive[h.id]
		if !ok {
			return 0, fmt.Errorf("rowid %d is not a (matching) row of this state (got %v)", h.id, got)
		}
		if math.Abs(d-h.dist) > poolEps {
			return 0, fmt.Errorf("rowid %d at distance %g, its vector in this state is at %g", h.id, h.dist, d)
		}
		if seen[h.id] {
			return 0, fmt.Errorf("rowid %d twice: %v", h.id, got)
		}
		seen[h.id] = true
		if i > 0 && h.dist < got[i-1].dist-poolEps {
			return 0, fmt.Errorf("not ordered by distance: %v", got)
		}
	}
	found := 0
	for i, w := range want {
		if seen[w.id] {
			found++
		} else if exact && math.Abs(got[i].dist-w.dist) > poolEps {
			return 0, fmt.Errorf("exact search: got %v, want %v", got, want)
		}
	}
	return found, nil
}

type poolInfo struct {
	IndexLoaded     bool  `json:"index_loaded"`
	MemoryBytes     int64 `json:"memory_bytes"`
	SharedBytes     int64 `json:"shared_bytes"`
	PrivateBytes    int64 `json:"private_bytes"`
	VersionsAlive   int   `json:"versions_alive"`
	SharedIndex     bool  `json:"shared_index"`
	IndexLoads      int   `json:"index_loads"`
	IndexCatchUps   int   `json:"index_catch_ups"`
	IndexSharedUses int   `json:"index_shared_uses"`
	Searches        struct {
		Graph int `json:"graph"`
		Exact int `json:"exact"`
	} `json:"searches"`
}

func poolInfoOf(ctx context.Context, c *sql.Conn) (poolInfo, error) {
	var s string
	var info poolInfo
	if err := c.QueryRowContext(ctx, `SELECT veclite_info('t')`).Scan(&s); err != nil {
		return info, err
	}
	err := json.Unmarshal([]byte(s), &info)
	return info, err
}

func poolRun(t *testing.T, exact bool, idle int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var opened atomic.Int64
	dsn := "file:" + filepath.Join(t.TempDir(), "pool.db") + "?_journal_mode=WAL&_busy_timeout=10000"
	db, err := veclite.Open(dsn, veclite.Options{ConnectHook: poolConnID(&opened)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(0) // unlimited
	if idle > 0 {
		db.SetMaxIdleConns(idle)
	}
	threshold := 0
	if exact {
		threshold = 1000000
	}
	if _, err := db.Exec(fmt.Sprintf(`CREATE VIRTUAL TABLE t USING veclite(
		embedding float[%d], category text, exact_threshold = %d)`, poolDims, threshold)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE state(n integer NOT NULL); INSERT INTO state VALUES (0)`); err != nil {
		t.Fatal(err)
	}

	m := &poolModel{live: map[int64]int{}}
	loads := &poolLoads{byConn: map[int64]poolInfo{}}
	wrng := rand.New(rand.NewSource(1))
	nextID := int64(1)
	// commit runs ops and the state update as one transaction, recording the
	// state in the model before COMMIT (readers must find it once they see it).
	commit := func(ops []poolOp) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for _, op := range ops {
			var err error
			switch op.kind {
			case "insert":
				_, err = tx.ExecContext(ctx, `INSERT INTO t(rowid, embedding, category) VALUES (?, ?, ?)`,
					op.id, veclite.Vector(op.vec), op.cat)
			case "update":
				_, err = tx.ExecContext(ctx, `UPDATE t SET embedding = ?, category = ? WHERE rowid = ?`,
					veclite.Vector(op.vec), op.cat, op.id)
			case "delete":
				_, err = tx.ExecContext(ctx, `DELETE FROM t WHERE rowid = ?`, op.id)
			}
			if err != nil {
				return fmt.Errorf("%s of rowid %d: %w", op.kind, op.id, err)
			}
		}
		n := m.last + 1
		if _, err := tx.ExecContext(ctx, `UPDATE state SET n = ?`, n); err != nil {
			return err
		}
		if err := loads.note(ctx, tx); err != nil {
			return err
		}
		m.apply(n, ops)
		return tx.Commit()
	}
	var initial []poolOp
	for ; nextID <= poolInitial; nextID++ {
		initial = append(initial, poolOp{"insert", nextID, poolVec(wrng), poolCategories[wrng.Intn(len(poolCategories))]})
	}
	if err := commit(initial); err != nil {
		t.Fatal(err)
	}

	var (
		failed  atomic.Bool
		wg      sync.WaitGroup
		done    atomic.Bool
		commits atomic.Int64
	)
	fail := func(format string, args ...any) {
		if !failed.Swap(true) {
			t.Errorf(format, args...)
		}
		cancel()
	}
	wg.Add(1)
	go func() { // the writer: transactions of 1..5 inserts, updates and deletes
		defer wg.Done()
		defer done.Store(true)
		start := time.Now()
		for c := 0; c < poolCommits && time.Since(start) < poolDuration && ctx.Err() == nil; c++ {
			ids := m.liveIDs()
			touched := map[int64]bool{}
			var ops []poolOp
			for j := 1 + wrng.Intn(5); j > 0; j-- {
				cat := poolCategories[wrng.Intn(len(poolCategories))]
				id := ids[wrng.Intn(len(ids))]
				switch r := wrng.Intn(4); {
				case r < 2 || touched[id]:
					ops = append(ops, poolOp{"insert", nextID, poolVec(wrng), cat})
					nextID++
				case r == 2:
					ops = append(ops, poolOp{"update", id, poolVec(wrng), cat})
					touched[id] = true
				default:
					ops = append(ops, poolOp{"delete", id, nil, ""})
					touched[id] = true
				}
			}
			if err := commit(ops); err != nil {
				fail("writer: transaction %d: %v", c, err)
				return
			}
			commits.Add(1)
		}
	}()

	var (
		checks, found, wanted atomic.Int64
		states                sync.Map
	)
	// check runs one search in one read transaction and compares it with brute force.
	check := func(c interface {
		BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
	}, rng *rand.Rand) (int, error) {
		q := poolVec(rng)
		cat := ""
		if rng.Intn(3) == 0 {
			cat = poolCategories[rng.Intn(len(poolCategories))]
		}
		tx, err := c.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return 0, err
		}
		defer tx.Rollback()
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT n FROM state`).Scan(&n); err != nil {
			return 0, err
		}
		got, err := poolKNN(ctx, tx, q, cat)
		if err != nil {
			return n, err
		}
		if err := loads.note(ctx, tx); err != nil {
			return n, err
		}
		if err := tx.Commit(); err != nil {
			return n, err
		}
		want, alive := m.brute(n, q, poolK, cat)
		f, err := poolCompare(got, want, alive, exact)
		if err != nil {
			return n, fmt.Errorf("state %d, category %q: %v", n, cat, err)
		}
		checks.Add(1)
		found.Add(int64(f))
		wanted.Add(int64(len(want)))
		states.Store(n, true)
		return n, nil
	}
	for r := 0; r < poolReaders; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(100 + r)))
			last := 0
			for ctx.Err() == nil {
				finished := done.Load() // one more search after the writer's last commit
				n, err := check(db, rng)
				if err != nil {
					if ctx.Err() == nil {
						fail("reader %d: %v", r, err)
					}
					return
				}
				if n < last {
					fail("reader %d: state went back from %d to %d", r, last, n)
					return
				}
				last = n
				if finished {
					if n != m.last {
						fail("reader %d: after the last commit it sees state %d, want %d", r, n, m.last)
					}
					return
				}
			}
		}(r)
	}
	waitOrCancel(t, &wg, cancel, 60*time.Second)
	if t.Failed() {
		return
	}
	nStates := 0
	states.Range(func(any, any) bool { nStates++; return true })
	recall := float64(found.Load()) / float64(wanted.Load())
	st := db.Stats()
	t.Logf("%d commits, %d searches checked over %d distinct states, recall@%d %.4f; "+
		"connections opened %d, open now %d, closed as idle-surplus %d",
		commits.Load(), checks.Load(), nStates, poolK, recall, opened.Load(), st.OpenConnections, st.MaxIdleClosed)
	if commits.Load() < 10 || checks.Load() < 200 || nStates < 5 {
		t.Errorf("too little concurrency to mean much: %d commits, %d checks, %d states", commits.Load(), checks.Load(), nStates)
	}
	if !exact && recall < 0.9 {
		t.Errorf("graph recall@%d = %.4f, want >= 0.9", poolK, recall)
	}

	// The pool's connections, held at once: each answers over the last state and
	// all of them use one shared index.
	bg := context.Background()
	nConns := poolReaders + 1
	if st.OpenConnections > nConns {
		nConns = st.OpenConnections
	}
	conns := make([]*sql.Conn, nConns)
	for i := range conns {
		if conns[i], err = db.Conn(bg); err != nil {
			t.Fatal(err)
		}
		defer conns[i].Close()
	}
	before, err := poolInfoOf(bg, conns[0])
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(7))
	for i, c := range conns {
		n, err := check(c, rng)
		if err != nil || n != m.last {
			t.Errorf("connection %d: state %d (%v), want %d", i, n, err, m.last)
		}
	}
	held := poolLoads{byConn: map[int64]poolInfo{}}
	for _, c := range conns {
		if err := held.note(bg, c); err != nil {
			t.Fatal(err)
		}
	}
	for id, info := range held.byConn {
		if !info.SharedIndex || !info.IndexLoaded {
			t.Errorf("connection %d: shared_index %v, index_loaded %v, want both true", id, info.SharedIndex, info.IndexLoaded)
		}
		if info.VersionsAlive > 2 {
			t.Errorf("connection %d: versions_alive = %d after every held connection searched the last state, want <= 2",
				id, info.VersionsAlive)
		}
		if first := held.byConn[held.first]; info.MemoryBytes != first.MemoryBytes {
			t.Errorf("connections %d and %d both at the last state: memory_bytes %d and %d, want one shared version",
				held.first, id, first.MemoryBytes, info.MemoryBytes)
		}
	}
	sum := held.sum()
	all := loads.sum()
	t.Logf("%d held connections: index_loads %d, index_shared_uses %d, index_catch_ups %d, graph searches %d, "+
		"sum of private_bytes %d (memory_bytes %d), versions alive %d (%d before their final searches); "+
		"all %d connections seen: index_loads %d %v",
		len(conns), sum.IndexLoads, sum.IndexSharedUses, sum.IndexCatchUps, sum.Searches.Graph, sum.PrivateBytes,
		held.byConn[held.first].MemoryBytes, held.byConn[held.first].VersionsAlive, before.VersionsAlive,
		len(loads.byConn), all.IndexLoads, loads.loaders())
	// One load is the first write's, into the new empty table, by the connection
	// that created it. Until a second connection has taken a version, a writer
	// changes its version in place (a lone connection pays nothing for sharing),
	// so a connection whose first query lands in that first write transaction
	// loads once: a few at start-up, never one per connection.
	if sum.IndexLoads > 4 {
		t.Errorf("the pool's %d connections made %d full loads of the index, want <= 4 (per connection: %v)",
			len(conns), sum.IndexLoads, held.loaders())
	}
	// With connections opened and closed all the time, a new connection may read
	// a snapshot just before a commit whose older version nobody keeps any more
	// (a version nothing pins is freed), and load it. That must stay rare: a
	// private index per connection would load once per connection.
	if limit := max(4, len(loads.byConn)/20); all.IndexLoads > limit {
		t.Errorf("the %d connections the pool opened made %d full loads of the index, want <= %d (per connection: %v); "+
			"see TestPoolNewConnectionDuringWrite",
			len(loads.byConn), all.IndexLoads, limit, loads.loaders())
	}
	if !exact && sum.Searches.Graph == 0 {
		t.Errorf("exact_threshold = 0 but no search walked the graph")
	}
	var ok string
	if err := conns[0].QueryRowContext(bg, `SELECT veclite_check('t')`).Scan(&ok); err != nil || ok != "ok" {
		t.Errorf("veclite_check('t') = %q (%v), want ok", ok, err)
	}
}

// poolConnID gives every connection the pool opens a number, in temp.connid.
func poolConnID(opened *atomic.Int64) func(*sqlite3.SQLiteConn) error {
	return func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec(fmt.Sprintf(`CREATE TEMP TABLE connid AS SELECT %d AS id`, opened.Add(1)), nil)
		return err
	}
}

// poolLoads keeps the last veclite_info of every connection seen (by its
// connection number), so that loads of connections the pool has since closed count.
type poolLoads struct {
	mu     sync.Mutex
	byConn map[int64]poolInfo
	first  int64
}

func (l *poolLoads) note(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) error {
	var id int64
	var s string
	if err := q.QueryRowContext(ctx, `SELECT (SELECT id FROM temp.connid), veclite_info('t')`).Scan(&id, &s); err != nil {
		return err
	}
	var info poolInfo
	if err := json.Unmarshal([]byte(s), &info); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.byConn) == 0 {
		l.first = id
	}
	l.byConn[id] = info
	return nil
}

func (l *poolLoads) sum() (s poolInfo) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, i := range l.byConn {
		s.IndexLoads += i.IndexLoads
		s.IndexSharedUses += i.IndexSharedUses
		s.IndexCatchUps += i.IndexCatchUps
		s.PrivateBytes += i.PrivateBytes
		s.Searches.Graph += i.Searches.Graph
	}
	return s
}

// loaders maps each connection that made full loads to their number.
func (l *poolLoads) loaders() map[int64]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int64]int{}
	for id, i := range l.byConn {
		if i.IndexLoads > 0 {
			out[id] = i.IndexLoads
		}
	}
	return out
}

// TestPoolNewConnectionDuringWrite: a connection that opens while the writer's
// next transaction is under way searches the newest committed state, which the
// writer's connection had in memory when that transaction began: it must take
// that version, not load the index again (a full load is what one shared index
// per process is for avoiding; 100k x 384-d takes 0.25-0.5 s).
func TestPoolNewConnectionDuringWrite(t *testing.T) {
	ctx := context.Background()
	var opened atomic.Int64
	dsn := "file:" + filepath.Join(t.TempDir(), "pool.db") + "?_journal_mode=WAL&_busy_timeout=10000"
	db, err := veclite.Open(dsn, veclite.Options{ConnectHook: poolConnID(&opened)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(0)
	w, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rng := rand.New(rand.NewSource(3))
	if _, err := w.ExecContext(ctx, `CREATE VIRTUAL TABLE t USING veclite(embedding float[8], category text)`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, `BEGIN`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2000; i++ {
		if _, err := w.ExecContext(ctx, `INSERT INTO t(rowid, embedding, category) VALUES (?, ?, 'a')`,
			i, veclite.Vector(poolVec(rng))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.ExecContext(ctx, `COMMIT`); err != nil {
		t.Fatal(err)
	}
	if _, err := poolKNN(ctx, w, poolVec(rng), ""); err != nil { // the writer's connection holds the index
		t.Fatal(err)
	}
	// A second connection uses the index once and goes back to the pool: from
	// then on the index counts as shared in the process, and writers keep the
	// committed version for others (a connection that is alone with the index
	// changes it in place, so it pays nothing for sharing; see ARCHITECTURE.md).
	r0, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poolKNN(ctx, r0, poolVec(rng), ""); err != nil {
		t.Fatal(err)
	}
	db.SetMaxIdleConns(0) // r0's connection really closes: nobody else holds the version
	r0.Close()
	db.SetMaxIdleConns(2)
	// The writer's next transaction begins with a write; nobody else holds the
	// version it starts from: the writer keeps it (its base) for the others.
	if _, err := w.ExecContext(ctx, `BEGIN`); err != nil {
		t.Fatal(err)
	}
	defer w.ExecContext(ctx, `ROLLBACK`)
	if _, err := w.ExecContext(ctx, `INSERT INTO t(rowid, embedding, category) VALUES (5000, ?, 'b')`,
		veclite.Vector(poolVec(rng))); err != nil {
		t.Fatal(err)
	}
	r, err := db.Conn(ctx) // a new connection: the pool has no idle one
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := poolKNN(ctx, r, poolVec(rng), "")
	if err != nil || len(got) != poolK {
		t.Fatalf("search on the new connection: %v (%v)", got, err)
	}
	info, err := poolInfoOf(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("new connection: %+v", info)
	if info.IndexLoads != 0 || info.IndexSharedUses != 1 {
		t.Errorf("new connection during the writer's transaction: index_loads %d, index_shared_uses %d; "+
			"want 0 and 1 (take the committed version the writer's connection held)", info.IndexLoads, info.IndexSharedUses)
	}
}
