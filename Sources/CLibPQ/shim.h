// libpq (PostgreSQL's C client library) for Swift. No variadic calls: the header imports as is.
#ifndef UIQ_CLIBPQ_SHIM_H
#define UIQ_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
