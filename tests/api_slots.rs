//! Our own bindings read SQLite's `sqlite3_api_routines` table by slot index
//! (src/sqlite/ffi/sys.rs). Every index veclite uses must hold the function of that
//! name: compare each slot of a real SQLite's table (rusqlite's bundled build)
//! with the address of the function it links.

mod common;

use std::ffi::c_void;

use rusqlite::ffi as s;

fn symbol(name: &str) -> *const c_void {
    let full = format!("sqlite3_{name}");
    macro_rules! f {
        ($($n:ident),*) => {
            match full.as_str() {
                $(stringify!($n) => paste(s::$n as *const ()),)*
                _ => panic!("no symbol listed for slot {name}"),
            }
        };
    }
    fn paste(p: *const ()) -> *const c_void {
        p as *const c_void
    }
    f!(
        sqlite3_bind_double,
        sqlite3_bind_int64,
        sqlite3_bind_null,
        sqlite3_bind_value,
        sqlite3_column_blob,
        sqlite3_column_bytes,
        sqlite3_column_double,
        sqlite3_column_int64,
        sqlite3_column_type,
        sqlite3_column_value,
        sqlite3_declare_vtab,
        sqlite3_errmsg,
        sqlite3_exec,
        sqlite3_finalize,
        sqlite3_free,
        sqlite3_file_control,
        sqlite3_db_filename,
        sqlite3_uri_parameter,
        sqlite3_get_autocommit,
        sqlite3_last_insert_rowid,
        sqlite3_libversion_number,
        sqlite3_reset,
        sqlite3_result_double,
        sqlite3_result_error,
        sqlite3_result_int64,
        sqlite3_result_null,
        sqlite3_result_value,
        sqlite3_step,
        sqlite3_user_data,
        sqlite3_value_blob,
        sqlite3_value_bytes,
        sqlite3_value_double,
        sqlite3_value_int64,
        sqlite3_value_text,
        sqlite3_value_type,
        sqlite3_clear_bindings,
        sqlite3_create_module_v2,
        sqlite3_result_error_code,
        sqlite3_context_db_handle,
        sqlite3_create_function_v2,
        sqlite3_vtab_config,
        sqlite3_vtab_on_conflict,
        sqlite3_bind_blob64,
        sqlite3_bind_text64,
        sqlite3_malloc64,
        sqlite3_result_blob64,
        sqlite3_result_text64,
        sqlite3_set_last_insert_rowid,
        sqlite3_prepare_v3,
        sqlite3_vtab_nochange,
        sqlite3_value_nochange,
        sqlite3_vtab_collation,
        sqlite3_vtab_rhs_value,
        sqlite3_vtab_in,
        sqlite3_vtab_in_first,
        sqlite3_vtab_in_next,
        sqlite3_is_interrupted
    )
}

#[test]
fn every_slot_we_call_holds_the_named_function() {
    let table = common::api_table();
    // SAFETY: the table of the SQLite this test links.
    let api = unsafe { veclite::testing::Api::new(table) }.unwrap();
    assert!(
        api.version() >= 3_041_000,
        "the bundled SQLite is new enough to hold every slot"
    );
    let mut n = 0;
    for &(name, index, since) in veclite::testing::SLOTS {
        assert!(since <= api.version());
        assert_eq!(
            api.raw_slot(index),
            symbol(name),
            "slot {index} is not sqlite3_{name}"
        );
        n += 1;
    }
    assert!(n >= 50, "only {n} slots checked");
}
