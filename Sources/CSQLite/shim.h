// SQLite 3 for Swift: the destructor constants that do not import.
#ifndef UIQ_CSQLITE_SHIM_H
#define UIQ_CSQLITE_SHIM_H
#include <sqlite3.h>

/// SQLITE_TRANSIENT: SQLite copies the bound bytes before the call returns.
static inline sqlite3_destructor_type uiq_sqlite_transient(void) { return SQLITE_TRANSIENT; }
#endif
