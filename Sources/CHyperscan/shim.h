// Vectorscan (libvectorscan-dev), Hyperscan's portable fork: many regular expressions matched in one pass.
// Used as a prefilter for large regex sets (CLuaHost/regex.c); PCRE2 confirms every candidate.
#ifndef UIQ_CHYPERSCAN_SHIM_H
#define UIQ_CHYPERSCAN_SHIM_H
#include <hs/hs.h>
#endif
