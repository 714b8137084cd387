package veclite_test

import (
	"math"
	"strings"
	"testing"

	veclite "github.com/veclite/veclite/go"
)

// TestBadVectors checks that bad vectors, as Vector or JSON text arguments, come
// back as errors through database/sql and write nothing.
func TestBadVectors(t *testing.T) {
	db := openMemory(t)
	if _, err := db.Exec(`CREATE VIRTUAL TABLE docs USING veclite(embedding float[3], tag text, distance = cosine)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO docs(rowid, embedding, tag) VALUES (1, ?, 'ok')`, veclite.Vector{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))

	inserts := []struct {
		name   string
		vec    any
		errHas string
	}{
		{"too few dimensions", veclite.Vector{1, 2}, "veclite: docs.embedding: vector has 2 dimensions, expected 3"},
		{"too many dimensions", veclite.Vector{1, 2, 3, 4}, "vector has 4 dimensions, expected 3"},
		{"JSON with wrong dimensions", "[1, 2]", "vector has 2 dimensions, expected 3"},
		{"malformed JSON", "[1, 2,, 3]", "invalid vector JSON at byte 6"},
		{"not JSON", "hello", "invalid vector JSON at byte 0"},
		{"NaN", veclite.Vector{nan, 0, 1}, "vector element 0 is NaN"},
		{"infinity", veclite.Vector{0, 1, inf}, "vector element 2 is infinite"},
		{"empty", veclite.Vector{}, "vector is empty"},
		{"NULL (nil Vector)", veclite.Vector(nil), "cannot be NULL"},
		{"BLOB of 3 bytes", []byte{0, 0, 0}, "not a multiple of 4"},
		{"zero vector under cosine", veclite.Vector{0, 0, 0}, "zero vector"},
	}
	for _, c := range inserts {
		_, err := db.Exec(`INSERT INTO docs(rowid, embedding, tag) VALUES (2, ?, 'bad')`, c.vec)
		if err == nil || !strings.Contains(err.Error(), c.errHas) {
			t.Errorf("insert, %s: got %v, want an error containing %q", c.name, err, c.errHas)
		}
		_, err = db.Exec(`UPDATE docs SET embedding = ? WHERE rowid = 1`, c.vec)
		if err == nil || !strings.Contains(err.Error(), c.errHas) {
			t.Errorf("update, %s: got %v, want an error containing %q", c.name, err, c.errHas)
		}
	}

	// A statement with one bad row writes none of its rows, and a transaction goes
	// on after the failed statement.
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(`INSERT INTO docs(rowid, embedding) VALUES (3, ?), (4, ?)`, veclite.Vector{1, 0, 0}, veclite.Vector{1, 0})
	if err == nil {
		t.Error("a two-row insert with a bad second row succeeded")
	}
	if _, err := tx.Exec(`INSERT INTO docs(rowid, embedding) VALUES (5, ?)`, veclite.Vector{0, 0, 1}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT rowid, embedding FROM docs ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	var first veclite.Vector
	for rows.Next() {
		var id int64
		var v veclite.Vector
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		if id == 1 {
			first = v
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) != 2 || ids[0] != 1 || ids[1] != 5 {
		t.Errorf("rows after the bad writes: %v, want [1 5]", ids)
	}
	if len(first) != 3 || first[0] != 1 || first[1] != 2 || first[2] != 3 {
		t.Errorf("row 1 after failed updates: %v, want [1 2 3]", first)
	}

	// Bad queries.
	queries := []struct {
		name, sql string
		args      []any
		errHas    string
	}{
		{"query with wrong dimensions", `SELECT rowid FROM docs WHERE knn_match(embedding, ?) AND k = 3`,
			[]any{veclite.Vector{1, 2}}, "vector has 2 dimensions, expected 3"},
		{"query with NaN", `SELECT rowid FROM docs WHERE knn_match(embedding, ?) AND k = 3`,
			[]any{veclite.Vector{nan, 1, 1}}, "NaN"},
		{"NULL query", `SELECT rowid FROM docs WHERE knn_match(embedding, ?) AND k = 3`,
			[]any{veclite.Vector(nil)}, "the query vector is NULL"},
		{"k = 0", `SELECT rowid FROM docs WHERE knn_match(embedding, ?) AND k = 0`,
			[]any{veclite.Vector{1, 2, 3}}, "k must be an integer from 1 to 10000"},
		{"function on a bad vector", `SELECT l2_distance(?, '[1, 2, 3]')`,
			[]any{veclite.Vector{1, 2}}, "vectors have different dimensions (2 and 3)"},
	}
	for _, c := range queries {
		rows, err := db.Query(c.sql, c.args...)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
		}
		if err == nil || !strings.Contains(err.Error(), c.errHas) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.errHas)
		}
	}
}
