// Command veclite-node runs one dqlite node with veclite in every connection.
//
//	veclite-node -dir /var/lib/n1 -address 127.0.0.1:9001
//	veclite-node -dir /var/lib/n2 -address 127.0.0.1:9002 -join 127.0.0.1:9001
//	veclite-node -dir /var/lib/n3 -address 127.0.0.1:9003 -join 127.0.0.1:9001 \
//	    -sql "CREATE VIRTUAL TABLE docs USING veclite(embedding float[3], cat integer)"
//
// Once the node has joined, each -sql statement runs through the cluster's leader
// (rows are printed tab-separated), then the node keeps serving until SIGINT or
// SIGTERM (or exits at once with -exit). The veclite library comes from -extension,
// else $VECLITE_EXTENSION, else the checkout's target/release/libveclite.so.
// Build with -tags libsqlite3 (see package cluster).
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/canonical/go-dqlite/app"
	"github.com/veclite/veclite/go/cluster"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ";") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	dir := flag.String("dir", "", "the node's data directory (created if missing)")
	address := flag.String("address", "127.0.0.1:9001", "host:port the node listens on")
	join := flag.String("join", "", "comma-separated addresses of nodes of an existing cluster (empty: bootstrap a new one)")
	database := flag.String("db", "docs", "the dqlite database the -sql statements run on")
	ext := flag.String("extension", "", "the veclite library (default $VECLITE_EXTENSION, else the checkout's build)")
	exit := flag.Bool("exit", false, "exit after the -sql statements instead of serving")
	var stmts list
	flag.Var(&stmts, "sql", "a statement to run through the leader once the node is ready (repeatable)")
	flag.Parse()
	if *dir == "" {
		log.Fatal("veclite-node: -dir is required")
	}
	path := *ext
	if path == "" {
		var err error
		if path, err = cluster.ExtensionPath(); err != nil {
			log.Fatal(err)
		}
	}
	if err := cluster.Register(path); err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	opts := []app.Option{app.WithAddress(*address)}
	if *join != "" {
		opts = append(opts, app.WithCluster(strings.Split(*join, ",")))
	}
	node, err := app.New(*dir, opts...)
	if err != nil {
		log.Fatal(err)
	}
	defer node.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := node.Ready(ctx); err != nil {
		log.Fatal(err)
	}
	log.Printf("node %d at %s ready (SQLite %s, veclite from %s)", node.ID(), node.Address(), cluster.SQLiteVersion(), path)
	if len(stmts) > 0 {
		db, err := node.Open(ctx, *database)
		if err != nil {
			log.Fatal(err)
		}
		for _, s := range stmts {
			if err := run(ctx, db, s); err != nil {
				log.Fatalf("%s: %v", s, err)
			}
		}
		db.Close()
	}
	if *exit {
		return
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}

// run executes one statement and prints what it returns (a statement that is not
// a SELECT, WITH, VALUES or PRAGMA goes to Exec; an INSERT, UPDATE, DELETE or
// REPLACE prints its row count).
func run(ctx context.Context, db *sql.DB, stmt string) error {
	word := strings.ToUpper(strings.Fields(stmt + " x")[0])
	if word != "SELECT" && word != "WITH" && word != "VALUES" && word != "PRAGMA" {
		res, err := db.ExecContext(ctx, stmt)
		if err != nil {
			return err
		}
		if word == "INSERT" || word == "UPDATE" || word == "DELETE" || word == "REPLACE" {
			n, _ := res.RowsAffected()
			fmt.Printf("ok: %d rows\n", n)
		} else {
			fmt.Println("ok")
		}
		return nil
	}
	rows, err := db.QueryContext(ctx, stmt)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		out := make([]string, len(vals))
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			out[i] = fmt.Sprint(v)
		}
		fmt.Println(strings.Join(out, "\t"))
	}
	return rows.Err()
}
