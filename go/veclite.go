// Package veclite lets database/sql programs use veclite, the SQLite vector-table
// extension, through github.com/mattn/go-sqlite3.
//
// Importing the package registers the database/sql driver "veclite": an ordinary
// mattn/go-sqlite3 driver that loads the veclite shared library into every new
// connection. The library is found, in this order, from Options.ExtensionPath, the
// VECLITE_EXTENSION environment variable, or target/release/libveclite.so of the
// veclite checkout that holds this Go module (built by `cargo build --release`).
// A missing library is reported when the first connection opens (veclite.Open
// pings, so it fails at once).
//
//	db, err := veclite.Open("file:docs.db", veclite.Options{})
//	db.Exec(`CREATE VIRTUAL TABLE docs USING veclite(embedding float[3], year integer)`)
//	db.Exec(`INSERT INTO docs(rowid, embedding, year) VALUES (?, ?, ?)`, 1, veclite.Vector{0.1, 0.9, 0}, 2021)
//	rows, err := db.Query(`SELECT rowid, distance FROM docs
//	    WHERE knn_match(embedding, ?) AND k = ? AND year >= 2020`, veclite.Vector{0, 1, 0}, 10)
//
// Vector is a []float32 that is written as veclite's little-endian float32 BLOB and
// scanned back from that BLOB or from JSON text such as vector_to_json's output.
//
// As with any SQLite driver for database/sql, an in-memory database (":memory:")
// is private to one connection: call db.SetMaxOpenConns(1) to keep a single one.
package veclite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	sqlite3 "github.com/mattn/go-sqlite3"
)

const (
	// DriverName is the database/sql driver that importing this package registers.
	DriverName = "veclite"
	// EntryPoint is the extension's init function, passed to sqlite3_load_extension.
	EntryPoint = "sqlite3_veclite_init"
	// EnvExtension names the environment variable that gives the library's path
	// when Options.ExtensionPath is empty.
	EnvExtension = "VECLITE_EXTENSION"
)

// ErrLibraryNotFound is wrapped by the error returned when the veclite shared
// library is not where the options, the environment or the default say it is.
var ErrLibraryNotFound = errors.New("veclite: extension library not found")

// Options configures a veclite driver or database handle.
type Options struct {
	// ExtensionPath is the path of the veclite shared library (libveclite.so).
	// Empty means: $VECLITE_EXTENSION if set, else the checkout's
	// target/release/libveclite.so next to this module. As with SQLite's
	// load_extension, the platform suffix (.so, .dylib, .dll) may be left off.
	ExtensionPath string

	// ConnectHook, if not nil, runs on every new connection after veclite has
	// been loaded into it (for PRAGMAs, more functions, ...). An error fails the
	// connection.
	ConnectHook func(*sqlite3.SQLiteConn) error
}

func init() {
	// Cheap and cannot fail: nothing is resolved or loaded until a connection opens.
	sql.Register(DriverName, NewDriver(Options{}))
}

// NewDriver returns a mattn/go-sqlite3 driver that loads veclite, as opts says,
// into every connection it opens.
func NewDriver(opts Options) driver.Driver {
	return &sqlite3.SQLiteDriver{ConnectHook: opts.connectHook()}
}

// Register registers a database/sql driver under name that loads veclite as opts
// says; use it with sql.Open(name, dsn). Registering a name twice is an error
// (database/sql would panic).
func Register(name string, opts Options) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("veclite: cannot register driver %q: %v", name, r)
		}
	}()
	sql.Register(name, NewDriver(opts))
	return nil
}

// Open opens the SQLite database dsn (a mattn/go-sqlite3 DSN such as
// "file:docs.db?_journal_mode=WAL&_busy_timeout=5000") with veclite loaded into
// every connection, and pings it so that a missing or broken library is reported
// here rather than by the first query.
func Open(dsn string, opts Options) (*sql.DB, error) {
	db := sql.OpenDB(connector{dsn: dsn, driver: NewDriver(opts)})
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

type connector struct {
	dsn    string
	driver driver.Driver
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.driver.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.driver }

// ExtensionPath returns the library path that a connection opened with opts would
// load, or an error wrapping ErrLibraryNotFound that says where it looked and what
// to build.
func ExtensionPath(opts Options) (string, error) {
	return resolvePath(opts.ExtensionPath, os.Getenv(EnvExtension), checkoutDir())
}

func (o Options) connectHook() func(*sqlite3.SQLiteConn) error {
	return func(conn *sqlite3.SQLiteConn) error {
		path, err := ExtensionPath(o)
		if err != nil {
			return err
		}
		if err := conn.LoadExtension(path, EntryPoint); err != nil {
			return fmt.Errorf("veclite: cannot load the extension %s: %w", path, err)
		}
		if o.ConnectHook != nil {
			return o.ConnectHook(conn)
		}
		return nil
	}
}

// libraryFile is the name cargo gives the cdylib on this platform.
func libraryFile() string {
	switch runtime.GOOS {
	case "windows":
		return "veclite.dll"
	case "darwin", "ios":
		return "libveclite.dylib"
	default:
		return "libveclite.so"
	}
}

// checkoutDir is the veclite checkout holding this module's source (the parent of
// go/), or "" when the source path is unknown (a -trimpath build).
func checkoutDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	return filepath.Dir(filepath.Dir(file))
}

func resolvePath(explicit, env, checkout string) (string, error) {
	const howTo = "build it with `cargo build --release` in the veclite checkout, or set " +
		EnvExtension + " (or Options.ExtensionPath) to the library's path"
	switch {
	case explicit != "":
		if !libraryExists(explicit) {
			return "", fmt.Errorf("%w: Options.ExtensionPath %s does not exist", ErrLibraryNotFound, explicit)
		}
		return explicit, nil
	case env != "":
		if !libraryExists(env) {
			return "", fmt.Errorf("%w: %s=%s does not exist", ErrLibraryNotFound, EnvExtension, env)
		}
		return env, nil
	case checkout == "":
		return "", fmt.Errorf("%w: the module's source location is unknown (built with -trimpath?); %s",
			ErrLibraryNotFound, howTo)
	}
	path := filepath.Join(checkout, "target", "release", libraryFile())
	if !libraryExists(path) {
		return "", fmt.Errorf("%w: %s does not exist: build it with `cargo build --release` in %s, "+
			"or set %s (or Options.ExtensionPath) to the library's path", ErrLibraryNotFound, path, checkout, EnvExtension)
	}
	return path, nil
}

// libraryExists reports whether path, or path plus the platform suffix (which
// sqlite3_load_extension adds when needed), is a file.
func libraryExists(path string) bool {
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		return true
	}
	if st, err := os.Stat(path + filepath.Ext(libraryFile())); err == nil && !st.IsDir() {
		return true
	}
	return false
}
