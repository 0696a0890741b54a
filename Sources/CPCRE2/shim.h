// PCRE2 with 8-bit code units. The generic names are macros; Swift calls the `_8` functions directly.
#ifndef UIQ_CPCRE2_SHIM_H
#define UIQ_CPCRE2_SHIM_H
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/// PCRE2_ZERO_TERMINATED is a cast expression that does not import.
static inline size_t uiq_pcre2_zero_terminated(void) { return PCRE2_ZERO_TERMINATED; }
/// PCRE2_UNSET, likewise.
static inline size_t uiq_pcre2_unset(void) { return PCRE2_UNSET; }
#endif
