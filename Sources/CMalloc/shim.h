// glibc's allocator controls (malloc.h), which Swift's Glibc module does not export.
#ifndef UIQ_CMALLOC_SHIM_H
#define UIQ_CMALLOC_SHIM_H
#include <malloc.h>

/// At most `count` allocator arenas (each keeps its own free memory).
static inline void uiq_malloc_arena_max(int count) { mallopt(M_ARENA_MAX, count); }
/// Blocks of at least `bytes` are mapped on their own (and returned to the system when freed); fixing it
/// also stops glibc from raising it after large frees.
static inline void uiq_malloc_mmap_threshold(int bytes) { mallopt(M_MMAP_THRESHOLD, bytes); }
/// Free memory at the top of the heap beyond `bytes` is returned to the system.
static inline void uiq_malloc_trim_threshold(int bytes) { mallopt(M_TRIM_THRESHOLD, bytes); }
/// Returns every free page of every arena to the system.
static inline void uiq_malloc_release(void) { malloc_trim(0); }
#endif
