// Package cluster runs veclite on dqlite, a Raft-replicated SQLite: a dqlite node
// whose every connection has veclite, because the extension is registered with the
// system libsqlite3's sqlite3_auto_extension before the node opens anything.
//
// Build with -tags libsqlite3: go-dqlite's client package imports
// mattn/go-sqlite3, which otherwise compiles its own SQLite into the binary; the
// executable's sqlite3_* symbols would then take the place of the system library's
// for libdqlite too. With the tag, the process has one SQLite, the system's, which
// libdqlite, mattn/go-sqlite3 and veclite all use.
package cluster

/*
#cgo LDFLAGS: -lsqlite3 -ldl
#include <stdlib.h>
#include <dlfcn.h>
#include <sqlite3.h>

// Opens the veclite library and registers its entry point as an automatic
// extension of this process's SQLite. Returns NULL or a static/dlerror message.
static const char *veclite_register(const char *path) {
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		return dlerror();
	}
	void *init = dlsym(h, "sqlite3_veclite_init");
	if (init == NULL) {
		return "sqlite3_veclite_init not found in the library";
	}
	if (sqlite3_auto_extension((void (*)(void))init) != SQLITE_OK) {
		return "sqlite3_auto_extension failed";
	}
	return NULL;
}

static const char *sqlite_version(void) { return sqlite3_libversion(); }

static int sqlite_version_number(void) { return sqlite3_libversion_number(); }

// The version number of the system libsqlite3 itself, from its own
// sqlite3_libversion_number (looked up in that library, not in the process's
// global scope; it returns a constant, which no other SQLite in the process can
// interpose on, unlike the sqlite3_version string sqlite3_libversion returns), or 0.
static int system_sqlite_version_number(void) {
	void *h = dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		return 0;
	}
	int (*f)(void) = (int (*)(void))dlsym(h, "sqlite3_libversion_number");
	return f == NULL ? 0 : f();
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"unsafe"

	dqlite "github.com/canonical/go-dqlite"
)

// EnvExtension names the environment variable with the veclite library's path
// (the convention of the veclite Go package).
const EnvExtension = "VECLITE_EXTENSION"

var (
	registerOnce sync.Once
	registerErr  error
)

// ExtensionPath is $VECLITE_EXTENSION, or else target/release/libveclite.so of the
// checkout that holds this source.
func ExtensionPath() (string, error) {
	if p := os.Getenv(EnvExtension); p != "" {
		return p, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", errors.New("veclite library unknown: set " + EnvExtension)
	}
	p := filepath.Join(filepath.Dir(file), "..", "..", "target", "release", "libveclite.so")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("veclite library not found at %s (run cargo build --release, or set %s): %w", p, EnvExtension, err)
	}
	return p, nil
}

// Register makes every SQLite connection the process opens from now on load
// veclite from path (sqlite3_auto_extension). Call it before the first dqlite node
// starts. It also switches SQLite to multi-thread mode (go-dqlite's default is
// single-thread, which is wrong as soon as two nodes, or a node and any other
// SQLite user, share the process); that has to happen before SQLite initialises,
// and sqlite3_auto_extension initialises it. It refuses to run on any SQLite but
// the system's (a build without -tags libsqlite3 has mattn/go-sqlite3's copy in
// the executable, whose symbols take the place of the system library's, for
// libdqlite too). Only the first call does anything.
func Register(path string) error {
	registerOnce.Do(func() {
		if sys, own := int(C.system_sqlite_version_number()), int(C.sqlite_version_number()); sys != own {
			registerErr = fmt.Errorf("the process's sqlite3_* functions are SQLite %d, not the system libsqlite3 (%d) "+
				"that libdqlite was built against: build with -tags libsqlite3, so that mattn/go-sqlite3 compiles in no SQLite of its own", own, sys)
			return
		}
		if err := dqlite.ConfigMultiThread(); err != nil {
			registerErr = fmt.Errorf("sqlite3_config(SQLITE_CONFIG_MULTITHREAD): %w", err)
			return
		}
		cpath := C.CString(path)
		defer C.free(unsafe.Pointer(cpath))
		if msg := C.veclite_register(cpath); msg != nil {
			registerErr = fmt.Errorf("veclite: registering %s: %s", path, C.GoString(msg))
		}
	})
	return registerErr
}

// SQLiteVersion is the version of the SQLite library the process uses
// (sqlite3_libversion of the system libsqlite3).
func SQLiteVersion() string { return C.GoString(C.sqlite_version()) }
