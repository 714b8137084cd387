package veclite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	sqlite3 "github.com/mattn/go-sqlite3"
	veclite "github.com/veclite/veclite/go"
)

// libraryPath is a path of the library for tests that pass one explicitly:
// $VECLITE_EXTENSION, else the checkout's build when it exists, else what the
// default lookup finds (the bare name veclite after `make install`).
func libraryPath(t *testing.T) string {
	t.Helper()
	if env := os.Getenv(veclite.EnvExtension); env != "" {
		return env
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		built := filepath.Join(filepath.Dir(filepath.Dir(file)), "target", "release", "libveclite.so")
		if _, err := os.Stat(built); err == nil {
			return built
		}
	}
	path, err := veclite.ExtensionPath(veclite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaultDriver(t *testing.T) {
	db, err := sql.Open(veclite.DriverName, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version string
	if err := db.QueryRow(`SELECT veclite_version()`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version == "" {
		t.Error("veclite_version() is empty")
	}
	path, err := veclite.ExtensionPath(veclite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("veclite %s, library %s", version, path)
}

// TestEveryConnection checks that each pooled connection has veclite loaded, not
// just the first.
func TestEveryConnection(t *testing.T) {
	db, err := veclite.Open("file:"+filepath.Join(t.TempDir(), "conns.db"), veclite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	var conns []*sql.Conn
	for i := 0; i < 4; i++ {
		c, err := db.Conn(ctx) // held open, so each is a different connection
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i, c := range conns {
		var d float64
		if err := c.QueryRowContext(ctx, `SELECT l2_distance('[0, 0]', '[3, 4]')`).Scan(&d); err != nil || d != 5 {
			t.Errorf("connection %d: got (%v, %v), want 5", i, d, err)
		}
	}
}

func TestOptions(t *testing.T) {
	lib := libraryPath(t)

	t.Run("explicit path", func(t *testing.T) {
		t.Setenv(veclite.EnvExtension, filepath.Join(t.TempDir(), "nothing-here.so")) // the option wins
		db, err := veclite.Open(":memory:", veclite.Options{ExtensionPath: lib})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	})

	t.Run("missing explicit path", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "libveclite.so")
		db, err := veclite.Open(":memory:", veclite.Options{ExtensionPath: missing})
		if err == nil {
			db.Close()
			t.Fatal("Open succeeded without a library")
		}
		if !errors.Is(err, veclite.ErrLibraryNotFound) || !strings.Contains(err.Error(), missing) {
			t.Errorf("got %v, want ErrLibraryNotFound naming %s", err, missing)
		}
	})

	t.Run("environment", func(t *testing.T) {
		t.Setenv(veclite.EnvExtension, lib)
		db, err := veclite.Open(":memory:", veclite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()

		missing := filepath.Join(t.TempDir(), "gone.so")
		t.Setenv(veclite.EnvExtension, missing)
		db, err = sql.Open(veclite.DriverName, ":memory:") // the default driver reads it per connection
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Ping(); !errors.Is(err, veclite.ErrLibraryNotFound) ||
			!strings.Contains(err.Error(), veclite.EnvExtension+"="+missing) {
			t.Errorf("got %v, want ErrLibraryNotFound naming %s", err, veclite.EnvExtension)
		}
	})

	t.Run("not a library", func(t *testing.T) {
		notLib := filepath.Join(t.TempDir(), "fake.so")
		if err := os.WriteFile(notLib, []byte("hello"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := veclite.Open(":memory:", veclite.Options{ExtensionPath: notLib})
		if err == nil || !strings.Contains(err.Error(), "cannot load the extension "+notLib) {
			t.Errorf("got %v, want a load error naming %s", err, notLib)
		}
	})

	t.Run("connect hook", func(t *testing.T) {
		var calls atomic.Int32
		hook := func(c *sqlite3.SQLiteConn) error {
			calls.Add(1)
			// veclite is already loaded when the hook runs.
			_, err := c.Exec(`CREATE TEMP TABLE hooked AS SELECT veclite_version() AS v`, nil)
			return err
		}
		db, err := veclite.Open(":memory:", veclite.Options{ConnectHook: hook})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var v string
		if err := db.QueryRow(`SELECT v FROM hooked`).Scan(&v); err != nil || v == "" || calls.Load() == 0 {
			t.Errorf("hook: got (%q, %v), %d calls", v, err, calls.Load())
		}

		failing := func(*sqlite3.SQLiteConn) error { return errors.New("no thanks") }
		if _, err := veclite.Open(":memory:", veclite.Options{ConnectHook: failing}); err == nil ||
			!strings.Contains(err.Error(), "no thanks") {
			t.Errorf("failing hook: got %v", err)
		}
	})

	t.Run("register", func(t *testing.T) {
		if err := veclite.Register("veclite-test-register", veclite.Options{ExtensionPath: lib}); err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("veclite-test-register", ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var dims int
		if err := db.QueryRow(`SELECT vector_dims('[1, 2, 3]')`).Scan(&dims); err != nil || dims != 3 {
			t.Errorf("registered driver: got (%d, %v)", dims, err)
		}
		if err := veclite.Register("veclite-test-register", veclite.Options{}); err == nil {
			t.Error("registering a name twice succeeded")
		}
		if err := veclite.Register(veclite.DriverName, veclite.Options{}); err == nil {
			t.Error("registering over the default driver succeeded")
		}
	})
}
