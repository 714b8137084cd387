'use strict';
// veclite for Node: loads the bundled SQLite extension (lib/veclite.so) into a
// better-sqlite3 Database or a node:sqlite DatabaseSync.
const fs = require('node:fs');
const path = require('node:path');

// SQLite derives the entry point from the file name: veclite.so -> sqlite3_veclite_init.
const LIBRARY = path.join(__dirname, 'lib', 'veclite.so');

/** Full path of the bundled veclite.so, for db.loadExtension() or any other host. */
function getLoadablePath() {
  if (!fs.existsSync(LIBRARY)) {
    throw new Error(
      `sqlite-veclite: the bundled extension ${LIBRARY} is missing: this copy of the ` +
        'package was not installed from a packed tarball (build one with scripts/package.sh)'
    );
  }
  return LIBRARY;
}

function isNodeSqlite(db) {
  return db != null && db.constructor != null && db.constructor.name === 'DatabaseSync';
}

/**
 * Load veclite into a connection: a better-sqlite3 Database, or a node:sqlite
 * DatabaseSync (Node 22.13+/23.5+) opened with { allowExtension: true }.
 */
function load(db) {
  if (db == null || typeof db.loadExtension !== 'function') {
    throw new TypeError(
      'sqlite-veclite: load(db) needs a better-sqlite3 Database or a node:sqlite DatabaseSync ' +
        '(an object with a loadExtension() method)'
    );
  }
  const file = getLoadablePath();
  try {
    db.loadExtension(file);
  } catch (err) {
    if (isNodeSqlite(db)) {
      err.message =
        `${err.message} (sqlite-veclite: open the database with ` +
        "new DatabaseSync(path, { allowExtension: true }) to allow loading extensions)";
    }
    throw err;
  }
}

module.exports = { load, getLoadablePath };
