// Package knntest holds what the scale-out tests (go/cluster, go/litestream) share:
// a KNN query on their docs table, the brute-force answer over the wordnet-minilm
// rows, and recall. The table is docs(embedding float[384], cat integer) under the
// default L2 metric, row i of the data set stored as rowid i+1 with cat = its pos.
package knntest

import (
	"context"
	"database/sql"
	"math"
	"sort"

	veclite "github.com/veclite/veclite/go"
	"github.com/veclite/veclite/go/internal/wordnet"
)

// K is the number of neighbours every query asks for.
const K = 10

// Hit is one row of an answer.
type Hit struct {
	ID   int64
	Dist float64
}

// Querier is a *sql.DB, *sql.Conn or *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// KNN asks docs for the K nearest rows to v, among those with category cat (cat < 0:
// all rows).
func KNN(ctx context.Context, db Querier, v []float32, cat int) ([]Hit, error) {
	s := `SELECT rowid, distance FROM docs WHERE knn_match(embedding, ?) AND k = 10`
	args := []any{veclite.Vector(v).Blob()}
	if cat >= 0 {
		s += ` AND cat = ?`
		args = append(args, cat)
	}
	rows, err := db.QueryContext(ctx, s, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Hit
	for rows.Next() {
		var h Hit
		if err := rows.Scan(&h.ID, &h.Dist); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// L2 is the L2 distance (the table's metric), in float64.
func L2(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s)
}

// Brute returns the K nearest of the first n rows of base with category cat (cat <
// 0: any), by L2 in float64.
func Brute(base *wordnet.Base, n int, q []float32, cat int) []Hit {
	var all []Hit
	for i := 0; i < n; i++ {
		if cat >= 0 && int(base.Pos[i]) != cat {
			continue
		}
		all = append(all, Hit{int64(i + 1), L2(q, base.Vectors[i])})
	}
	sort.Slice(all, func(a, b int) bool { return all[a].Dist < all[b].Dist })
	return all[:min(K, len(all))]
}

// Recall is the share of want's rows that got holds, a row of got within tieEps of
// want's farthest counting as a tie (1 when want is empty).
func Recall(got, want []Hit, tieEps float64) float64 {
	if len(want) == 0 {
		return 1
	}
	in := map[int64]bool{}
	for _, h := range want {
		in[h.ID] = true
	}
	n := 0
	for _, h := range got {
		if in[h.ID] || h.Dist <= want[len(want)-1].Dist+tieEps {
			n++
		}
	}
	return float64(n) / float64(len(want))
}
