// Package veclite lets database/sql programs use veclite, the SQLite vector-table
// extension, through github.com/mattn/go-sqlite3.
//
// Importing the package registers the database/sql driver "veclite": an ordinary
// mattn/go-sqlite3 driver that loads the veclite shared library into every new
// connection. The library is found, in this order, from Options.ExtensionPath, the
// VECLITE_EXTENSION environment variable, the dynamic loader's own search for the
// name "veclite" (which finds the veclite.so that `make install` puts in
// /usr/local/lib, or in PREFIX/lib with LD_LIBRARY_PATH=PREFIX/lib), or, as a
// fallback for development, target/release/libveclite.so of the veclite checkout
// that holds this Go module (built by `cargo build --release`). A missing library is
// reported when the first connection opens (veclite.Open pings, so it fails at
// once), with every place that was tried.
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
	"strings"

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
	// LoaderName is the bare name handed to the dynamic loader when neither
	// Options.ExtensionPath nor VECLITE_EXTENSION is set: SQLite dlopens "veclite",
	// then "veclite.so", and the loader searches its path (LD_LIBRARY_PATH, the
	// ldconfig cache, /lib, /usr/lib) for them, as for `.load veclite` in the shell.
	LoaderName = "veclite"
)

// ErrLibraryNotFound is wrapped by the error returned when the veclite shared
// library is found in none of the places looked at (the error lists them).
var ErrLibraryNotFound = errors.New("veclite: extension library not found")

// Options configures a veclite driver or database handle.
type Options struct {
	// ExtensionPath is the path of the veclite shared library (libveclite.so, or
	// veclite.so as installed by `make install`). When set, it is the only place
	// tried. Empty means: $VECLITE_EXTENSION if set (then the only place tried),
	// else the dynamic loader's search for LoaderName, else the checkout's
	// target/release/libveclite.so next to this module. As with SQLite's
	// load_extension, the platform suffix (.so, .dylib, .dll) may be left off, and
	// a bare name without a directory (such as "veclite") is looked up by the
	// dynamic loader rather than in the current directory.
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

// ExtensionPath returns the library that a connection opened with opts would load:
// a path, or LoaderName when the dynamic loader's search found it. It finds out by
// loading the library into a throwaway in-memory connection, exactly as a new
// connection does. When nothing loads, the error wraps ErrLibraryNotFound and lists
// every place that was tried, in order.
//
// The library's soname is veclite.so, and the loader answers a search for a name
// with a library of that soname already loaded into the process, so once any
// veclite library is loaded (from the checkout, say), the loader's search returns
// that one and ExtensionPath says LoaderName.
func ExtensionPath(opts Options) (string, error) {
	probe, err := (&sqlite3.SQLiteDriver{}).Open(":memory:")
	if err != nil {
		return "", fmt.Errorf("veclite: cannot open a connection to look for the extension: %w", err)
	}
	defer probe.Close()
	return opts.locate(probe.(*sqlite3.SQLiteConn))
}

func (o Options) connectHook() func(*sqlite3.SQLiteConn) error {
	return func(conn *sqlite3.SQLiteConn) error {
		if _, err := o.locate(conn); err != nil {
			return err
		}
		if o.ConnectHook != nil {
			return o.ConnectHook(conn)
		}
		return nil
	}
}

// locate loads veclite into conn from the first place that has it.
func (o Options) locate(conn *sqlite3.SQLiteConn) (string, error) {
	return locate(o.ExtensionPath, os.Getenv(EnvExtension), checkoutDir(), func(name string) error {
		return conn.LoadExtension(name, EntryPoint)
	})
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

// howTo ends every ErrLibraryNotFound error.
const howTo = "run `make install` in the veclite checkout (with a PREFIX outside /usr and /usr/local, " +
	"also set LD_LIBRARY_PATH=PREFIX/lib), or set " + EnvExtension + " (or Options.ExtensionPath) to the library's path"

// locate returns the first of these that load (sqlite3_load_extension into a
// connection) accepts, and has loaded it:
//
//  1. explicit (Options.ExtensionPath), when set: the only place tried;
//  2. env ($VECLITE_EXTENSION), when set: the only place tried;
//  3. LoaderName, through the dynamic loader's search;
//  4. checkout/target/release/libveclite.so, when that file exists.
//
// When none does, the error wraps ErrLibraryNotFound and lists what was tried.
func locate(explicit, env, checkout string, load func(name string) error) (string, error) {
	switch {
	case explicit != "":
		return loadConfigured("Options.ExtensionPath "+explicit, explicit, load)
	case env != "":
		return loadConfigured("$"+EnvExtension+"="+env, env, load)
	}
	tried := []string{"Options.ExtensionPath: empty", "$" + EnvExtension + ": not set"}

	loaderErr := load(LoaderName)
	if loaderErr == nil {
		return LoaderName, nil
	}
	tried = append(tried, fmt.Sprintf("the dynamic loader's search for %q (%s): %v", LoaderName, loaderPath(), loaderErr))

	if checkout == "" {
		tried = append(tried, "the checkout's target/release/"+libraryFile()+
			": the module's source location is unknown (built with -trimpath?)")
	} else {
		path := filepath.Join(checkout, "target", "release", libraryFile())
		if !libraryExists(path) {
			tried = append(tried, path+" (the checkout's `cargo build --release`): does not exist")
		} else if err := load(path); err != nil {
			return "", fmt.Errorf("veclite: cannot load the extension %s (tried after the dynamic loader's search for %q: %v): %w",
				path, LoaderName, loaderErr, err)
		} else {
			return path, nil
		}
	}
	for i := range tried {
		tried[i] = fmt.Sprintf("(%d) %s", i+1, tried[i])
	}
	return "", fmt.Errorf("%w; looked at, in order: %s; %s", ErrLibraryNotFound, strings.Join(tried, "; "), howTo)
}

// loadConfigured loads the library that Options.ExtensionPath or $VECLITE_EXTENSION
// names (what says which, for errors): a path, or a bare name for the loader.
func loadConfigured(what, name string, load func(string) error) (string, error) {
	if isBareName(name) {
		if err := load(name); err != nil {
			return "", fmt.Errorf("%w: %s: the dynamic loader's search (%s) failed: %v (when it is set, nothing else is tried); %s",
				ErrLibraryNotFound, what, loaderPath(), err, howTo)
		}
		return name, nil
	}
	if !libraryExists(name) {
		return "", fmt.Errorf("%w: %s does not exist (when it is set, nothing else is tried); %s", ErrLibraryNotFound, what, howTo)
	}
	if err := load(name); err != nil {
		return "", fmt.Errorf("veclite: cannot load the extension %s: %w", name, err)
	}
	return name, nil
}

// isBareName reports whether name has no directory part, so that dlopen looks it up
// on the loader's search path rather than as a file.
func isBareName(name string) bool {
	return !strings.ContainsRune(name, '/') && !strings.ContainsRune(name, filepath.Separator)
}

// loaderPath says, for errors, where the dynamic loader looks for a bare name.
func loaderPath() string {
	switch runtime.GOOS {
	case "linux", "freebsd":
		return "LD_LIBRARY_PATH, the ldconfig cache, /lib, /usr/lib"
	case "darwin", "ios":
		return "DYLD_LIBRARY_PATH, then DYLD_FALLBACK_LIBRARY_PATH or /usr/local/lib, /usr/lib"
	case "windows":
		return "the application's directory, the system directories, PATH"
	default:
		return "the system's library search path"
	}
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
