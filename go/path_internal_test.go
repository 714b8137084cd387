package veclite

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// fakeLoader stands in for sqlite3_load_extension: it accepts the names in ok and
// records every name it is asked for.
type fakeLoader struct {
	ok    map[string]bool
	calls []string
}

func (f *fakeLoader) load(name string) error {
	f.calls = append(f.calls, name)
	if f.ok[name] {
		return nil
	}
	return fmt.Errorf("%s.so: cannot open shared object file: No such file or directory", name)
}

func TestLocateOrder(t *testing.T) {
	tmp := t.TempDir()
	lib := filepath.Join(tmp, "target", "release", libraryFile())
	if err := os.MkdirAll(filepath.Dir(lib), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lib, []byte("stands in for the library"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(tmp, "other"+filepath.Ext(libraryFile()))
	if err := os.WriteFile(other, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	otherBare := strings.TrimSuffix(other, filepath.Ext(other))
	missing := filepath.Join(tmp, "missing.so")
	broken := filepath.Join(tmp, "broken.so") // exists, but the loader refuses it
	if err := os.WriteFile(broken, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	everything := []string{lib, other, otherBare, LoaderName}

	cases := []struct {
		name          string
		explicit, env string
		checkout      string
		loadable      []string
		want          string   // the name loaded, or "" for an error
		calls         []string // the names the loader was asked for, in order
		notFound      bool     // the error wraps ErrLibraryNotFound
		errHas        string
	}{
		{name: "option", explicit: other, env: lib, checkout: tmp, loadable: everything,
			want: other, calls: []string{other}},
		{name: "option: suffix may be left off", explicit: otherBare, checkout: tmp, loadable: everything,
			want: otherBare, calls: []string{otherBare}},
		{name: "option missing: nothing else is tried", explicit: missing, env: other, checkout: tmp, loadable: everything,
			calls: nil, notFound: true, errHas: "Options.ExtensionPath " + missing + " does not exist"},
		{name: "option not a library", explicit: broken, checkout: tmp, loadable: everything,
			calls: []string{broken}, errHas: "cannot load the extension " + broken},
		{name: "option a bare name: the loader's search", explicit: LoaderName, checkout: tmp, loadable: everything,
			want: LoaderName, calls: []string{LoaderName}},
		{name: "option a bare name the loader does not find", explicit: "nosuch", checkout: tmp, loadable: everything,
			calls: []string{"nosuch"}, notFound: true, errHas: "Options.ExtensionPath nosuch: the dynamic loader's search"},
		{name: "environment", env: other, checkout: tmp, loadable: everything,
			want: other, calls: []string{other}},
		{name: "environment missing: nothing else is tried", env: missing, checkout: tmp, loadable: everything,
			calls: nil, notFound: true, errHas: "$" + EnvExtension + "=" + missing + " does not exist"},
		{name: "loader's search before the checkout", checkout: tmp, loadable: everything,
			want: LoaderName, calls: []string{LoaderName}},
		{name: "checkout when the loader finds nothing", checkout: tmp, loadable: []string{lib},
			want: lib, calls: []string{LoaderName, lib}},
		{name: "checkout not a library", checkout: tmp, loadable: nil,
			calls: []string{LoaderName, lib}, errHas: "cannot load the extension " + lib},
		{name: "nothing built or installed", checkout: filepath.Join(tmp, "empty"), loadable: everything[:3],
			calls: []string{LoaderName}, notFound: true, errHas: "make install"},
		{name: "unknown source location", checkout: "", loadable: everything[:3],
			calls: []string{LoaderName}, notFound: true, errHas: "-trimpath"},
	}
	for _, c := range cases {
		f := &fakeLoader{ok: map[string]bool{}}
		for _, name := range c.loadable {
			f.ok[name] = true
		}
		got, err := locate(c.explicit, c.env, c.checkout, f.load)
		if fmt.Sprint(f.calls) != fmt.Sprint(c.calls) {
			t.Errorf("%s: loader asked for %q, want %q", c.name, f.calls, c.calls)
		}
		if c.want != "" {
			if err != nil || got != c.want {
				t.Errorf("%s: got (%q, %v), want %q", c.name, got, err, c.want)
			}
			continue
		}
		if err == nil || errors.Is(err, ErrLibraryNotFound) != c.notFound || !strings.Contains(err.Error(), c.errHas) {
			t.Errorf("%s: got (%q, %v), want an error (ErrLibraryNotFound: %v) mentioning %q",
				c.name, got, err, c.notFound, c.errHas)
		}
	}
}

// TestNotFoundError checks that when nothing loads, the error lists every place
// looked at, in order, and says what to do.
func TestNotFoundError(t *testing.T) {
	checkout := t.TempDir()
	lib := filepath.Join(checkout, "target", "release", libraryFile())
	f := &fakeLoader{}
	_, err := locate("", "", checkout, f.load)
	if !errors.Is(err, ErrLibraryNotFound) {
		t.Fatalf("got %v, want ErrLibraryNotFound", err)
	}
	msg := err.Error()
	t.Log(msg)
	at := 0
	for _, want := range []string{
		"(1) Options.ExtensionPath: empty",
		"(2) $" + EnvExtension + ": not set",
		`(3) the dynamic loader's search for "veclite" (`,
		"veclite.so: cannot open shared object file", // the loader's own words
		"(4) " + lib,
		"does not exist",
		"run `make install`",
		"set " + EnvExtension,
	} {
		i := strings.Index(msg[at:], want)
		if i < 0 {
			t.Fatalf("error %q: %q missing, or not after the places before it", msg, want)
		}
		at += i + len(want)
	}
}

func TestCheckoutDir(t *testing.T) {
	dir := checkoutDir()
	if dir == "" {
		t.Skip("built with -trimpath: no source location")
	}
	if _, err := os.Stat(filepath.Join(dir, "go", "go.mod")); err != nil {
		t.Errorf("checkoutDir() = %q, which does not hold go/go.mod: %v", dir, err)
	}
}

// childEnv tells TestLoaderSearch that it runs in the child process, and what the
// parent set up: "found:DIR" (LD_LIBRARY_PATH=DIR, which holds veclite.so) or
// "absent:DIR" (LD_LIBRARY_PATH=DIR, an empty directory).
const childEnv = "VECLITE_TEST_LOADER_CHILD"

// TestLoaderSearch checks the loader's search with the real dynamic loader. The
// loader reads LD_LIBRARY_PATH when the process starts, so the test runs itself
// again as a child process with LD_LIBRARY_PATH set and VECLITE_EXTENSION unset:
// once with a directory holding a copy of the build as veclite.so (what `make
// install PREFIX=...` leaves), which must be what loads, and once with an empty
// one, where the checkout's build must load and, without it, the error must carry
// the loader's own message.
func TestLoaderSearch(t *testing.T) {
	if mode := os.Getenv(childEnv); mode != "" {
		loaderChild(t, mode)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("LD_LIBRARY_PATH and /proc/self/maps are Linux's")
	}
	if checkoutDir() == "" {
		t.Skip("built with -trimpath: no source location")
	}
	built := filepath.Join(checkoutDir(), "target", "release", libraryFile())
	if !libraryExists(built) {
		t.Skipf("%s is not built (cargo build --release)", built)
	}
	found := t.TempDir()
	copyFile(t, built, filepath.Join(found, "veclite.so"))
	for _, mode := range []string{"found:" + found, "absent:" + t.TempDir()} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLoaderSearch$", "-test.count=1", "-test.v")
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, EnvExtension+"=") && !strings.HasPrefix(kv, "LD_LIBRARY_PATH=") &&
				!strings.HasPrefix(kv, childEnv+"=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		dir := mode[strings.IndexByte(mode, ':')+1:]
		cmd.Env = append(cmd.Env, "LD_LIBRARY_PATH="+dir, childEnv+"="+mode)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("child (%s): %v\n%s", mode, err, out)
			continue
		}
		if !strings.Contains(string(out), "child checked: ") && !strings.Contains(string(out), "--- SKIP") {
			t.Errorf("child (%s) checked nothing:\n%s", mode, out)
			continue
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "child checked: ") || strings.Contains(line, "is installed on the loader's") {
				t.Logf("child (%s): %s", mode, strings.TrimSpace(line))
			}
		}
	}
}

func loaderChild(t *testing.T, mode string) {
	dir := mode[strings.IndexByte(mode, ':')+1:]
	if os.Getenv(EnvExtension) != "" || os.Getenv("LD_LIBRARY_PATH") != dir {
		t.Fatalf("child environment: %s=%q, LD_LIBRARY_PATH=%q", EnvExtension, os.Getenv(EnvExtension), os.Getenv("LD_LIBRARY_PATH"))
	}
	if strings.HasPrefix(mode, "absent:") {
		loaderChildAbsent(t, dir)
	}
	got, err := ExtensionPath(Options{})
	if err != nil {
		t.Fatal(err)
	}
	built := filepath.Join(checkoutDir(), "target", "release", libraryFile())
	switch {
	case strings.HasPrefix(mode, "found:"):
		if got != LoaderName {
			t.Fatalf("ExtensionPath = %q, want %q (found by the loader in %s)", got, LoaderName, dir)
		}
		db, err := Open(":memory:", Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var version string
		if err := db.QueryRow(`SELECT veclite_version()`).Scan(&version); err != nil {
			t.Fatal(err)
		}
		maps := procMaps(t)
		installed := filepath.Join(dir, "veclite.so")
		if !strings.Contains(maps, installed) || strings.Contains(maps, built) {
			t.Fatalf("want %s mapped and not %s; /proc/self/maps:\n%s", installed, built, maps)
		}
		t.Logf("child checked: the loader's search loaded %s (veclite %s)", installed, version)
	default: // absent
		if got == LoaderName {
			t.Skip("a veclite is installed on the loader's default path: the fallback cannot be seen")
		}
		if got != built {
			t.Fatalf("ExtensionPath = %q, want the checkout's %s", got, built)
		}
		t.Logf("child checked: the loader found nothing in %s, so the checkout's %s loaded", dir, built)
	}
}

// loaderChildAbsent checks, before anything has loaded veclite into the process,
// that with no checkout either the error carries the real loader's message.
func loaderChildAbsent(t *testing.T, dir string) {
	probe, err := (&sqlite3.SQLiteDriver{}).Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	conn := probe.(*sqlite3.SQLiteConn)
	got, err := locate("", "", filepath.Join(dir, "no-checkout"), func(name string) error {
		return conn.LoadExtension(name, EntryPoint)
	})
	if got == LoaderName {
		t.Skip("a veclite is installed on the loader's default path: the error cannot be seen")
	}
	if !errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), "cannot open shared object file") {
		t.Fatalf("got (%q, %v), want ErrLibraryNotFound with the loader's message", got, err)
	}
	t.Logf("child checked: with no checkout either: %v", err)
}

func procMaps(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
