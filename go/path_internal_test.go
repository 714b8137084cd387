package veclite

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolvePath(t *testing.T) {
	tmp := t.TempDir()
	lib := filepath.Join(tmp, "target", "release", libraryFile())
	if err := os.MkdirAll(filepath.Dir(lib), 0o755); err != nil {
		t.Fatal(err)
	}

	// Nothing built yet: the default's error names the path and says what to build.
	_, err := resolvePath("", "", tmp)
	if !errors.Is(err, ErrLibraryNotFound) {
		t.Fatalf("missing default library: got %v, want ErrLibraryNotFound", err)
	}
	for _, want := range []string{lib, "cargo build --release", EnvExtension} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing default library: error %q does not mention %q", err, want)
		}
	}

	if err := os.WriteFile(lib, []byte("not really a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(tmp, "other"+filepath.Ext(libraryFile()))
	if err := os.WriteFile(other, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(tmp, "missing.so")

	cases := []struct {
		name, explicit, env string
		want                string // path, or "" for an error
		errHas              string
	}{
		{"default", "", "", lib, ""},
		{"env wins over default", "", other, other, ""},
		{"option wins over env", lib, other, lib, ""},
		{"suffix may be left off", strings.TrimSuffix(other, filepath.Ext(other)), "", strings.TrimSuffix(other, filepath.Ext(other)), ""},
		{"missing env", "", missing, "", EnvExtension + "=" + missing},
		{"missing option", missing, other, "", "Options.ExtensionPath " + missing},
	}
	for _, c := range cases {
		got, err := resolvePath(c.explicit, c.env, tmp)
		if c.want != "" {
			if err != nil || got != c.want {
				t.Errorf("%s: got (%q, %v), want %q", c.name, got, err, c.want)
			}
			continue
		}
		if !errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), c.errHas) {
			t.Errorf("%s: got (%q, %v), want ErrLibraryNotFound mentioning %q", c.name, got, err, c.errHas)
		}
	}

	if _, err := resolvePath("", "", ""); !errors.Is(err, ErrLibraryNotFound) ||
		!strings.Contains(err.Error(), "cargo build --release") {
		t.Errorf("unknown source location: got %v", err)
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
