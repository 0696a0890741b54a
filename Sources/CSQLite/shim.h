// SQLite 3 for Swift: the destructor constants and the variadic configuration call that do not import.
#ifndef UIQ_CSQLITE_SHIM_H
#define UIQ_CSQLITE_SHIM_H
#include <sqlite3.h>

/// SQLITE_TRANSIENT: SQLite copies the bound bytes before the call returns.
static inline sqlite3_destructor_type uiq_sqlite_transient(void) { return SQLITE_TRANSIENT; }
/// Query plans never depend on bound values (SQLITE_DBCONFIG_ENABLE_QPSG): a statement with `x LIKE ?` is
/// otherwise prepared again every time the pattern changes, for a LIKE optimization that needs an index.
static inline int uiq_sqlite_plans_ignore_bound_values(sqlite3 *db) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_QPSG, 1, (int *)0);
}
#endif
