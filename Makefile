# veclite: build, install and uninstall the SQLite extension.
#
#   make                                cargo build --release
#   make install                        a stripped copy as /usr/local/lib/veclite.so
#   make install PREFIX=$HOME/.local    ... as $HOME/.local/lib/veclite.so
#   make uninstall [PREFIX=...]         removes what install put there
#
# After `make install`, `.load veclite` in the sqlite3 shell and load_extension('veclite')
# in any host find the library through the dynamic loader's search (SQLite dlopens
# "veclite", then "veclite.so"; the entry point sqlite3_veclite_init follows from the
# name). The loader searches LD_LIBRARY_PATH, its cache (built by ldconfig from
# /etc/ld.so.conf, which lists /usr/local/lib) and /lib, /usr/lib. ldconfig indexes
# only names starting with "lib" and keys the cache by soname, so install also links
# libveclite.so -> veclite.so (the library's soname is veclite.so, see build.rs).
# DESTDIR stages the files under another root (for packaging).

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
DESTDIR ?=
CARGO ?= cargo
STRIP ?= strip
INSTALL ?= install
LDCONFIG ?= ldconfig

BUILT := target/release/libveclite.so
STRIPPED := target/release/veclite.stripped.so
DEST := $(DESTDIR)$(LIBDIR)/veclite.so
LINK := $(DESTDIR)$(LIBDIR)/libveclite.so

.PHONY: all build install uninstall

all: build

build:
	$(CARGO) build --release

install: build
	$(STRIP) --strip-unneeded -o '$(STRIPPED)' '$(BUILT)'
	$(INSTALL) -d '$(DESTDIR)$(LIBDIR)'
	@# Written beside the target, then renamed over it: a process that has the old
	@# library loaded keeps its copy.
	$(INSTALL) -m 0755 '$(STRIPPED)' '$(DEST).new'
	mv -f '$(DEST).new' '$(DEST)'
	ln -sfn veclite.so '$(LINK)'
	@rm -f '$(STRIPPED)'
	@if [ -z '$(DESTDIR)' ] && { [ '$(PREFIX)' = /usr ] || [ '$(PREFIX)' = /usr/local ]; } \
	    && [ "$$(id -u)" = 0 ]; then \
	  echo '$(LDCONFIG)'; $(LDCONFIG); \
	  echo 'installed $(DEST): `.load veclite` finds it'; \
	else \
	  echo 'installed $(DEST)'; \
	  echo 'note: the dynamic loader does not search $(LIBDIR) by itself: run programs with'; \
	  echo '  LD_LIBRARY_PATH=$(LIBDIR) (e.g. LD_LIBRARY_PATH=$(LIBDIR) sqlite3), or, as root,'; \
	  echo '  list $(LIBDIR) in /etc/ld.so.conf.d/ and run ldconfig; or load it by its path'; \
	fi

uninstall:
	rm -f '$(DEST)'
	@# The link only if it is ours (a link to veclite.so), not some other libveclite.so.
	@if [ -L '$(LINK)' ] && [ "$$(readlink '$(LINK)')" = veclite.so ]; then \
	  echo "rm -f '$(LINK)'"; rm -f '$(LINK)'; fi
	@if [ -z '$(DESTDIR)' ] && { [ '$(PREFIX)' = /usr ] || [ '$(PREFIX)' = /usr/local ]; } \
	    && [ "$$(id -u)" = 0 ]; then echo '$(LDCONFIG)'; $(LDCONFIG); fi
