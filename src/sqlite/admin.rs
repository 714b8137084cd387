//! The administration functions: `veclite_info`, `veclite_check` and
//! `veclite_rebuild` (the last two go through the table itself as command INSERTs,
//! so the connection's index and transaction stay consistent).

use super::commands::{FLUSH_COMMAND, REBUILD_COMMAND};
use super::config::{self, quote_ident, TableConfig};
use super::ffi::Db;
use super::shadow::Names;
use crate::distance;
use crate::error::{Error, Result};

/// `veclite_info('t')` / `veclite_info('schema.t')`: JSON about a veclite table.
///
/// While a `veclite_rebuild` of the table runs on another connection of the
/// process, a `rebuild` object shows its progress, from the registry (process
/// memory). When the tables cannot be read because that writer holds its lock
/// (SQLITE_BUSY under a rollback journal), the answer is the progress alone:
/// `table`, `schema`, `rebuild` and `"locked": true`.
pub fn table_info(db: Db, name: &str) -> Result<String> {
    match table_info_map(db, name) {
        Ok(mut info) => {
            let schema = info["schema"].as_str().unwrap_or_default().to_string();
            let table = info["table"].as_str().unwrap_or_default().to_string();
            if let Some(r) = rebuild_json(db, &schema, &table) {
                info.insert("rebuild".into(), r);
            }
            Ok(serde_json::Value::Object(info).to_string())
        }
        Err(e) if is_busy(&e) => {
            let Some((schema, table, r)) = running_rebuild_by_name(db, name) else {
                return Err(e);
            };
            Ok(
                serde_json::json!({"table": table, "schema": schema, "rebuild": r, "locked": true})
                    .to_string(),
            )
        }
        Err(e) => Err(e),
    }
}

fn is_busy(e: &Error) -> bool {
    // SQLITE_BUSY and SQLITE_LOCKED, extended codes included.
    matches!(e, Error::Sqlite { code, .. } if matches!(code & 0xff, 5 | 6))
}

/// The `rebuild` object of a rebuild of `schema.table` running in the process.
fn rebuild_json(db: Db, schema: &str, table: &str) -> Option<serde_json::Value> {
    let key = super::registry::key(db, schema, table)?;
    let (done, total, phase, ms) = super::registry::rebuild_progress(&key)?.snapshot();
    Some(serde_json::json!({
        "rows_done": done,
        "rows_total": total,
        "phase": phase.name(),
        "started_ms_ago": ms,
    }))
}

/// Finds a running rebuild by the name given to `veclite_info` without reading any
/// table (the schema list is the connection's own): (schema, table, rebuild).
fn running_rebuild_by_name(db: Db, name: &str) -> Option<(String, String, serde_json::Value)> {
    let (schema, table) = match split_name(name) {
        Some((schema, table, _)) => (schema, table),
        None => (None, name.to_string()),
    };
    let schemas: Vec<String> = match schema {
        Some(s) => vec![s],
        None => {
            let mut all = Vec::new();
            if let Ok(mut st) =
                db.prepare("SELECT name FROM pragma_database_list ORDER BY seq", false)
            {
                while let Ok(true) = st.step() {
                    all.push(String::from_utf8_lossy(st.column_bytes(0)).into_owned());
                }
            }
            if all.is_empty() {
                all.push("main".into());
            }
            all
        }
    };
    schemas.into_iter().find_map(|s| {
        let r = rebuild_json(db, &s, &table)?;
        Some((s, table.clone(), r))
    })
}

fn table_info_map(db: Db, name: &str) -> Result<serde_json::Map<String, serde_json::Value>> {
    let (schema, table) = resolve_table(db, name, "veclite_info")?;
    let names = Names { schema, table };
    let mut st = db.prepare(
        &format!(
            "SELECT key, value FROM {} WHERE key IN ('config', 'format_read', 'format_write', 'generation')",
            names.q("config")
        ),
        false,
    )?;
    let mut info = serde_json::Map::new();
    info.insert("table".into(), names.table.clone().into());
    info.insert("schema".into(), names.schema.clone().into());
    let mut cfg_json = serde_json::Value::Null;
    while st.step()? {
        let key = String::from_utf8_lossy(st.column_bytes(0)).into_owned();
        if key == "config" {
            cfg_json = serde_json::from_slice(st.column_bytes(1)).map_err(|e| {
                Error::corrupt(format!(
                    "veclite: {}_config: bad config entry: {e}",
                    names.table
                ))
            })?;
        } else {
            info.insert(key, st.column_i64(1).into());
        }
    }
    let cfg = cfg_json.as_object().ok_or_else(|| {
        Error::corrupt(format!(
            "veclite: {}_config has no config entry",
            names.table
        ))
    })?;
    let vec_col = cfg
        .get("vector_column")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    let mut st = db.prepare(
        &format!(
            "SELECT count(*), coalesce(sum(length({})), 0) FROM {}",
            quote_ident(&vec_col),
            names.q("rows")
        ),
        false,
    )?;
    st.step()?;
    info.insert("rows".into(), st.column_i64(0).into());
    info.insert("vector_bytes".into(), st.column_i64(1).into());
    for k in ["dims", "metric", "vector_column", "columns"] {
        if let Some(v) = cfg.get(k) {
            info.insert(k.into(), v.clone());
        }
    }
    let mut params = serde_json::Map::new();
    for k in ["m", "ef_construction", "ef_search", "exact_threshold"] {
        if let Some(v) = cfg.get(k) {
            params.insert(k.into(), v.clone());
        }
    }
    // tables written before the option have no key: they are not quantized
    params.insert(
        "quantize".into(),
        cfg.get("quantize")
            .cloned()
            .unwrap_or_else(|| "none".into()),
    );
    info.insert("params".into(), params.into());
    let stats = super::stats::get(db, &names.schema, &names.table);
    let mut st = db.prepare(&format!("SELECT count(*) FROM {}", names.q("graph")), false)?;
    st.step()?;
    info.insert("graph_nodes".into(), st.column_i64(0).into());
    // The graph's levels come from the stored entry point (the top node), so they
    // are right before this connection loads the index; memory_bytes is what this
    // connection's loaded index holds (0, with index_loaded = false, before).
    let mut st = db.prepare(
        &format!(
            "SELECT g.node FROM {} AS c JOIN {} AS g ON g.slot = c.value WHERE c.key = 'entry'",
            names.q("config"),
            names.q("graph")
        ),
        false,
    )?;
    let levels = if st.step()? {
        st.column_bytes(0).get(1).map_or(0, |&l| l as i64 + 1)
    } else {
        0
    };
    drop(st);
    info.insert("levels".into(), levels.into());
    info.insert("index_loaded".into(), stats.loaded.into());
    // Worked out now: shared is what other connections' versions hold too (all of
    // it when another connection uses the same version), private this one's alone.
    let version = stats.version.as_ref().and_then(|w| w.upgrade());
    let (meta_bytes, meta_loaded) = match &version {
        Some(v) if stats.loaded => {
            let (a, b) = v.attr_memory();
            let names: Vec<String> = v
                .loaded_attrs()
                .into_iter()
                .filter_map(|i| {
                    cfg.get("columns")?
                        .get(i)?
                        .get("name")?
                        .as_str()
                        .map(str::to_string)
                })
                .collect();
            (a + b, names)
        }
        _ => (0, Vec::new()),
    };
    let (total, shared) = match version {
        Some(v) if stats.loaded => {
            let total = v.memory_bytes();
            // Our own upgrade is one of the holders.
            let shared = if std::sync::Arc::strong_count(&v) > 2 {
                total
            } else {
                v.memory_split().0
            };
            (total, shared)
        }
        _ => (0, 0),
    };
    info.insert("memory_bytes".into(), total.into());
    info.insert("shared_bytes".into(), shared.into());
    info.insert("private_bytes".into(), (total - shared.min(total)).into());
    let alive = super::registry::key(db, &names.schema, &names.table)
        .map_or(usize::from(stats.loaded), |k| {
            super::registry::versions_alive(&k)
        });
    info.insert("versions_alive".into(), alive.into());
    info.insert(
        "shared_index".into(),
        super::registry::key(db, &names.schema, &names.table)
            .is_some()
            .into(),
    );
    info.insert("index_shared_uses".into(), stats.shared_uses.into());
    info.insert(
        "searches".into(),
        serde_json::json!({"graph": stats.graph_searches, "exact": stats.exact_searches, "stream": stats.stream_searches}),
    );
    info.insert("stream_skips".into(), stats.stream_skips.into());
    // Filtered KNN: where the terms were evaluated and what the planner chose.
    info.insert(
        "filters".into(),
        serde_json::json!({
            "in_index": stats.filters_in_index,
            "sql": stats.filters_sql,
            "row_reads": stats.filter_row_reads,
            "plan_exact": stats.plan_exact,
            "plan_walk": stats.plan_walk,
            "plan_two_hop": stats.plan_two_hop,
        }),
    );
    info.insert("metadata_bytes".into(), meta_bytes.into());
    info.insert("metadata_columns_loaded".into(), meta_loaded.into());
    info.insert("column_loads".into(), stats.column_loads.into());
    info.insert(
        "last_column_load_ms".into(),
        ((stats.last_column_load_ms * 1000.0).round() / 1000.0).into(),
    );
    info.insert("index_loads".into(), stats.loads.into());
    info.insert("index_catch_ups".into(), stats.catch_ups.into());
    info.insert(
        "last_load_ms".into(),
        ((stats.last_load_ms * 1000.0).round() / 1000.0).into(),
    );
    info.insert("simd".into(), distance::kernels().name.into());
    Ok(info)
}

/// Reads a table's configuration back from its `T_config` (for functions, which
/// have no vtab instance).
fn stored_config(db: Db, names: &Names) -> Result<TableConfig> {
    let mut st = db.prepare(
        &format!(
            "SELECT value FROM {} WHERE key = 'config'",
            names.q("config")
        ),
        false,
    )?;
    if !st.step()? {
        return Err(Error::corrupt(format!(
            "veclite: {}_config has no config entry",
            names.table
        )));
    }
    let j: serde_json::Value = serde_json::from_slice(st.column_bytes(0)).map_err(|e| {
        Error::corrupt(format!(
            "veclite: {}_config: bad config entry: {e}",
            names.table
        ))
    })?;
    let bad = || Error::corrupt(format!("veclite: {}_config: bad config entry", names.table));
    let mut args: Vec<String> = vec![format!(
        "{} float[{}]",
        quote_ident(j["vector_column"].as_str().ok_or_else(bad)?),
        j["dims"].as_u64().ok_or_else(bad)?
    )];
    for c in j["columns"].as_array().ok_or_else(bad)? {
        let mut a = format!(
            "{}{} {}",
            if c["aux"].as_bool() == Some(true) {
                "+"
            } else {
                ""
            },
            quote_ident(c["name"].as_str().ok_or_else(bad)?),
            c["type"].as_str().ok_or_else(bad)?
        );
        if let Some(coll) = c["collate"].as_str() {
            a.push_str(&format!(" COLLATE {coll}"));
        }
        args.push(a);
    }
    args.push(format!(
        "distance = {}",
        j["metric"].as_str().ok_or_else(bad)?
    ));
    for k in ["m", "ef_construction", "ef_search", "exact_threshold"] {
        if let Some(v) = j[k].as_u64() {
            args.push(format!("{k} = {v}"));
        }
    }
    // absent in tables written before the option: none
    if let Some(q) = j.get("quantize") {
        args.push(format!("quantize = {}", q.as_str().ok_or_else(bad)?));
    }
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    config::parse(&refs)
}

/// `veclite_check('t')`: 'ok', or every inconsistency between rows and graph.
pub fn table_check(db: Db, name: &str) -> Result<String> {
    let (schema, table, create_sql) = resolve_table_sql(db, name, "veclite_check")?;
    if !db.autocommit() {
        // Inside a transaction the graph changes are still in memory (they are
        // written at commit): write them first so rows and graph can be compared.
        // A read-only connection has no changes to write; any other failure (an
        // I/O error, after which SQLite may have rolled the transaction back) is
        // the answer.
        match db.exec(&format!(
            "INSERT INTO {}.{}(query) VALUES ('{FLUSH_COMMAND}')",
            quote_ident(&schema),
            quote_ident(&table)
        )) {
            Err(Error::Sqlite { code, .. }) if code & 0xff == 8 => {} // SQLITE_READONLY
            Err(e) => return Err(e),
            Ok(()) => {}
        }
    }
    let names = Names { schema, table };
    let mut problems = config_entry_problems(db, &names)?;
    // The definition SQLite hands xConnect (the CREATE arguments) is what queries
    // use; the stored JSON copy must agree with it.
    let args = config::module_args(&create_sql).unwrap_or_default();
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let cfg = match config::parse(&refs) {
        Ok(c) => c,
        Err(e) => {
            problems.push(format!("the table's definition cannot be read: {e}"));
            return Ok(problems.join("\n"));
        }
    };
    // SQLite's own errors while reading (an I/O error, say) are the answer; what
    // the tables hold is reported as problems.
    match stored_config(db, &names) {
        Err(e @ Error::Sqlite { .. }) => return Err(e),
        Ok(stored) if stored == cfg => {}
        Ok(stored) => problems.push(format!(
            "{}_config's config entry disagrees with the table's definition ({}); veclite_rebuild rewrites it",
            names.table,
            config_diff(&stored, &cfg)
        )),
        Err(e) => problems.push(format!("{e}; veclite_rebuild rewrites it")),
    }
    match super::store::load(db, &names, &cfg) {
        Ok((h, p)) if p.is_empty() => {
            problems.extend(h.check().iter().map(|p| p.to_string()));
            if problems.is_empty() {
                problems.extend(h.unreachable_problem().map(|p| p.to_string()));
            }
        }
        Ok((_, p)) => problems.extend(p),
        Err(e @ Error::Sqlite { .. }) => return Err(e),
        Err(e) => problems.push(e.to_string()),
    }
    let format = super::store::config_int(db, &names, "format_read").unwrap_or(None);
    if super::store::has_codes(&cfg, format) {
        match super::store::check_codes(db, &names, &cfg) {
            Ok(p) => problems.extend(p),
            Err(e @ Error::Sqlite { .. }) => return Err(e),
            Err(e) => problems.push(e.to_string()),
        }
    }
    Ok(if problems.is_empty() {
        "ok".into()
    } else {
        problems.join("\n")
    })
}

/// What differs between two configurations, for the check's message.
fn config_diff(stored: &TableConfig, def: &TableConfig) -> String {
    let mut d = Vec::new();
    macro_rules! field {
        ($f:ident) => {
            if stored.$f != def.$f {
                d.push(format!(
                    "{}: stored {:?}, defined {:?}",
                    stringify!($f),
                    stored.$f,
                    def.$f
                ));
            }
        };
    }
    field!(vector_name);
    field!(dims);
    field!(metric);
    field!(m);
    field!(ef_construction);
    field!(ef_search);
    field!(exact_threshold);
    field!(quantize);
    if stored.meta != def.meta {
        d.push("metadata columns".into());
    }
    d.join(", ")
}

/// The integer entries of `T_config` a table needs, each checked.
fn config_entry_problems(db: Db, names: &Names) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let t = &names.table;
    for (key, required) in [
        ("format_read", true),
        ("format_write", true),
        ("generation", true),
        ("seed", false),
        ("entry", false),
    ] {
        let mut st = db.prepare(
            &format!(
                "SELECT typeof(value), value FROM {} WHERE key = ?1",
                names.q("config")
            ),
            false,
        )?;
        st.bind_text(1, key.as_bytes())?;
        let found = st.step()?;
        let ty = if found {
            String::from_utf8_lossy(st.column_bytes(0)).into_owned()
        } else {
            String::new()
        };
        match ty.as_str() {
            "integer" => {
                let v = st.column_i64(1);
                if key == "format_read" && v > super::shadow::FORMAT_READ {
                    out.push(format!(
                        "{t}_config: format_read {v} is newer than this build reads ({})",
                        super::shadow::FORMAT_READ
                    ));
                } else if key.starts_with("format") && v < 1 {
                    out.push(format!("{t}_config: {key} {v} is not a valid format"));
                }
            }
            "null" if key == "entry" => {}
            "" if !required => {}
            "" => out.push(format!(
                "{t}_config has no {key} entry; veclite_rebuild rewrites it"
            )),
            other => out.push(format!(
                "{t}_config entry '{key}' is {other}, not an integer; veclite_rebuild rewrites it"
            )),
        }
    }
    Ok(out)
}

/// `veclite_rebuild('t')`: rebuilds the index from the rows through the table
/// itself (so this connection's index and transaction stay consistent); returns the
/// row count.
pub fn table_rebuild(db: Db, name: &str) -> Result<i64> {
    let (schema, table) = resolve_table(db, name, "veclite_rebuild")?;
    // Counted first: once the rebuild is written, an interrupt arriving late must
    // not fail the function (the outer statement, a read, would keep the rebuild
    // while reporting an error).
    let names = Names { schema, table };
    let mut st = db.prepare(&format!("SELECT count(*) FROM {}", names.q("rows")), false)?;
    st.step()?;
    let n = st.column_i64(0);
    drop(st);
    // (the command is an INSERT: what last_insert_rowid() reports stays as it was)
    let last_rowid = db.last_insert_rowid();
    let r = db.exec(&format!(
        "INSERT INTO {}.{}(query) VALUES ('{REBUILD_COMMAND}')",
        quote_ident(&names.schema),
        quote_ident(&names.table)
    ));
    db.set_last_insert_rowid(last_rowid);
    r?;
    Ok(n)
}

/// Finds which schema holds veclite table `name` ("t" or "schema.t"): temp first,
/// then main, then attached databases, as SQLite resolves unqualified names.
fn resolve_table(db: Db, name: &str, fname: &str) -> Result<(String, String)> {
    resolve_table_sql(db, name, fname).map(|(s, t, _)| (s, t))
}

/// [`resolve_table`] with the table's stored `CREATE VIRTUAL TABLE` statement.
fn resolve_table_sql(db: Db, name: &str, fname: &str) -> Result<(String, String, String)> {
    // `t`, `schema.t`, or SQL-quoted parts (`"x.y"`, `main."x.y"`); a bare name
    // with a dot is first looked up whole (a table may be named `x.y`).
    let mut candidates: Vec<(Option<String>, String)> = Vec::new();
    match split_name(name) {
        Some((schema, table, quoted)) => {
            if !quoted && schema.is_some() {
                candidates.push((None, name.to_string()));
            }
            candidates.push((schema, table));
        }
        None => candidates.push((None, name.to_string())),
    }
    let mut all = Vec::new();
    {
        let mut st = db.prepare("SELECT name FROM pragma_database_list ORDER BY seq", false)?;
        while st.step()? {
            all.push(String::from_utf8_lossy(st.column_bytes(0)).into_owned());
        }
    }
    if let Some(p) = all.iter().position(|s| s == "temp") {
        let t = all.remove(p);
        all.insert(0, t);
    }
    for (schema, table) in candidates {
        let lt = table.to_ascii_lowercase();
        if [
            "sqlite_master",
            "sqlite_schema",
            "sqlite_temp_master",
            "sqlite_temp_schema",
        ]
        .contains(&lt.as_str())
        {
            return Err(Error::usage(format!(
                "{fname}: {name} is not a veclite table"
            )));
        }
        let schemas: Vec<String> = match &schema {
            Some(s) => all
                .iter()
                .filter(|x| x.eq_ignore_ascii_case(s))
                .cloned()
                .collect(),
            None => all.clone(),
        };
        for s in schemas {
            let sql = format!(
                "SELECT name, sql FROM {}.sqlite_schema WHERE type IN ('table', 'view') AND name = ?1 COLLATE NOCASE",
                quote_ident(&s)
            );
            let Ok(mut st) = db.prepare(&sql, false) else {
                continue;
            };
            st.bind_text(1, table.as_bytes())?;
            if st.step()? {
                let real = String::from_utf8_lossy(st.column_bytes(0)).into_owned();
                let sql = String::from_utf8_lossy(st.column_bytes(1)).into_owned();
                let ddl = sql.to_ascii_lowercase();
                if !ddl.contains("using veclite") {
                    return Err(Error::usage(format!(
                        "{fname}: {name} is not a veclite table"
                    )));
                }
                return Ok((s, real, sql));
            }
        }
    }
    Err(Error::usage(format!("{fname}: no such table: {name}")))
}

/// `a.b` -> (Some(a), b); `"a.b"` -> (None, a.b); `s."x.y"` -> (Some(s), x.y). The
/// flag says whether any part was quoted. None when there is no dot or quote.
fn split_name(name: &str) -> Option<(Option<String>, String, bool)> {
    fn part(s: &str) -> Option<(String, &str, bool)> {
        let s = s.trim_start();
        if let Some(rest) = s.strip_prefix('"') {
            let mut out = String::new();
            let mut it = rest.char_indices();
            while let Some((i, c)) = it.next() {
                if c == '"' {
                    if rest[i + 1..].starts_with('"') {
                        out.push('"');
                        it.next();
                    } else {
                        return Some((out, &rest[i + 1..], true));
                    }
                } else {
                    out.push(c);
                }
            }
            None
        } else {
            let end = s.find('.').unwrap_or(s.len());
            Some((s[..end].trim().to_string(), &s[end..], false))
        }
    }
    if !name.contains('.') && !name.contains('"') {
        return None;
    }
    let (a, rest, qa) = part(name)?;
    let rest = rest.trim_start();
    if rest.is_empty() {
        return Some((None, a, qa));
    }
    let rest = rest.strip_prefix('.')?;
    let (b, tail, qb) = part(rest)?;
    if !tail.trim().is_empty() {
        return None;
    }
    Some((Some(a), b, qa || qb))
}
