// Command semantic-search is a tiny semantic search over WordNet glosses with
// veclite from Go: it loads the first -n glosses of the wordnet-minilm data set
// (all-MiniLM-L6-v2 embeddings) into a veclite table, then, for a few held-out
// queries, prints the nearest glosses, optionally only those of one part of speech.
//
//	go run ./example/semantic-search                      # from go/: 10,000 glosses, queries 0 1 2
//	go run ./example/semantic-search -n 100000 -q 5,17 -pos verb -k 3
//	go run ./example/semantic-search -db /tmp/wordnet.db  # keep the table; later runs reuse it
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	veclite "github.com/veclite/veclite/go"
	"github.com/veclite/veclite/go/internal/wordnet"
)

var posNames = []string{"noun", "verb", "adj", "adv"}

func main() {
	n := flag.Int("n", 10000, "glosses to load (1..100000 with the full set, 1..10000 with the in-repo slice)")
	k := flag.Int("k", 5, "results per query")
	queryList := flag.String("q", "0,1,2", "comma-separated indexes of held-out queries (0..999)")
	pos := flag.String("pos", "", "only glosses of this part of speech: noun, verb, adj or adv")
	dbPath := flag.String("db", "", "database file (default: a temporary one); an existing table is reused")
	dataDir := flag.String("data", "", "wordnet-minilm directory (default: $VECLITE_DATA, else ../shared/data/wordnet-minilm beside the checkout, else data/wordnet-minilm-10k)")
	ext := flag.String("ext", "", "libveclite path (default: $VECLITE_EXTENSION, else veclite on the loader's path after make install, else the checkout's target/release)")
	flag.Parse()
	log.SetFlags(0)

	posFilter := -1
	if *pos != "" {
		for i, name := range posNames {
			if name == *pos {
				posFilter = i
			}
		}
		if posFilter < 0 {
			log.Fatalf("-pos %q: want one of %s", *pos, strings.Join(posNames, ", "))
		}
	}
	var queryIDs []int
	for _, s := range strings.Split(*queryList, ",") {
		id, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || id < 0 || id >= wordnet.NQueries {
			log.Fatalf("-q: %q is not a query index 0..%d", s, wordnet.NQueries-1)
		}
		queryIDs = append(queryIDs, id)
	}
	dir := *dataDir
	if dir == "" {
		var err error
		if dir, err = wordnet.Dir(); err != nil {
			log.Fatal(err)
		}
	}
	if *dbPath == "" {
		tmp, err := os.MkdirTemp("", "semantic-search")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(tmp)
		*dbPath = filepath.Join(tmp, "wordnet.db")
	}

	db, err := veclite.Open("file:"+*dbPath, veclite.Options{ExtensionPath: *ext})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := load(db, dir, *n); err != nil {
		log.Fatal(err)
	}

	maxID := 0
	for _, id := range queryIDs {
		maxID = max(maxID, id)
	}
	queries, err := wordnet.LoadQueries(dir, maxID+1)
	if err != nil {
		log.Fatal(err)
	}
	texts, err := wordnet.LoadLines(filepath.Join(dir, "queries.txt"), maxID+1)
	if err != nil {
		log.Fatal(err)
	}
	for _, id := range queryIDs {
		sqlText := `SELECT rowid, distance, pos, gloss FROM glosses WHERE knn_match(embedding, ?) AND k = ?`
		args := []any{veclite.Vector(queries[id]), *k}
		if posFilter >= 0 {
			sqlText += ` AND pos = ?` // filtered inside the search: k nearest among this pos
			args = append(args, posFilter)
		}
		start := time.Now()
		rows, err := db.Query(sqlText, args...)
		if err != nil {
			log.Fatal(err)
		}
		type result struct {
			id   int64
			dist float64
			pos  int
			text string
		}
		var results []result
		for rows.Next() {
			var r result
			if err := rows.Scan(&r.id, &r.dist, &r.pos, &r.text); err != nil {
				log.Fatal(err)
			}
			results = append(results, r)
		}
		if err := rows.Err(); err != nil {
			log.Fatal(err)
		}
		rows.Close()
		fmt.Printf("\nquery %d: %s  (%v)\n", id, texts[id], time.Since(start).Round(time.Microsecond))
		for _, r := range results {
			fmt.Printf("  %.4f  %-4s  %s\n", r.dist, posNames[r.pos], r.text)
		}
	}
}

// load fills glosses(embedding, pos, lex, gloss) with the first n rows of the data
// set in one transaction, unless the table already holds n rows.
func load(db *sql.DB, dir string, n int) error {
	var have int
	err := db.QueryRow(`SELECT count(*) FROM glosses`).Scan(&have)
	switch {
	case err == nil && have == n:
		fmt.Printf("reusing %d glosses\n", have)
		return nil
	case err == nil:
		return fmt.Errorf("the database already holds %d glosses, not %d: use another -db or -n %d", have, n, have)
	case !strings.Contains(err.Error(), "no such table"):
		return err
	}
	rows, err := wordnet.Rows(dir)
	if err != nil {
		return err
	}
	if n < 1 || n > rows {
		return fmt.Errorf("-n must be 1..%d (the rows in %s)", rows, dir)
	}
	start := time.Now()
	base, err := wordnet.LoadBase(dir, n)
	if err != nil {
		return err
	}
	glosses, err := wordnet.LoadLines(filepath.Join(dir, "base.txt"), n)
	if err != nil {
		return err
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`CREATE VIRTUAL TABLE glosses USING veclite(
		embedding float[384], pos integer, lex integer, gloss text, distance = cosine)`); err != nil {
		return err
	}
	stmt, err := tx.Prepare(`INSERT INTO glosses(rowid, embedding, pos, lex, gloss) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := 0; i < n; i++ {
		if _, err := stmt.Exec(i+1, veclite.Vector(base.Vectors[i]), base.Pos[i], base.Lex[i], glosses[i]); err != nil {
			return fmt.Errorf("row %d: %w", i+1, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	fmt.Printf("loaded %d glosses in %v\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}
