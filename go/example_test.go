package veclite_test

import (
	"fmt"
	"log"

	veclite "github.com/veclite/veclite/go"
)

func Example() {
	db, err := veclite.Open(":memory:", veclite.Options{}) // or sql.Open("veclite", dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // an in-memory database lives in one connection

	if _, err := db.Exec(`CREATE VIRTUAL TABLE docs USING veclite(
		embedding float[3], category text, year integer, distance = cosine)`); err != nil {
		log.Fatal(err)
	}
	for i, d := range []struct {
		v        veclite.Vector
		category string
		year     int
	}{
		{veclite.Vector{0.1, 0.9, 0.0}, "news", 2021},
		{veclite.Vector{0.8, 0.1, 0.1}, "blog", 2019},
		{veclite.Vector{0.2, 0.7, 0.1}, "news", 2018},
	} {
		if _, err := db.Exec(`INSERT INTO docs(rowid, embedding, category, year) VALUES (?, ?, ?, ?)`,
			i+1, d.v, d.category, d.year); err != nil {
			log.Fatal(err)
		}
	}

	// The 2 nearest news items: the filter is applied inside the search.
	rows, err := db.Query(`SELECT rowid, distance, embedding FROM docs
		WHERE knn_match(embedding, ?) AND k = ? AND category = 'news'`, veclite.Vector{0, 1, 0}, 2)
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var dist float64
		var v veclite.Vector
		if err := rows.Scan(&id, &dist, &v); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%d %.4f %v\n", id, dist, v)
	}
	if err := rows.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// 1 0.0061 [0.1 0.9 0]
	// 3 0.0474 [0.2 0.7 0.1]
}
