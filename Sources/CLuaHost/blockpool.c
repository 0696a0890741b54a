// Lua's small objects (tables, short strings, closures, up to UIQ_SMALL_BLOCK bytes) from free lists by size class,
// carved from one region of address space per state, mapped when the state is made and unmapped when it closes.
// Scoring with a breakdown makes and drops a few dozen of them per message; taking one from its list is a few
// instructions where malloc's per-thread cache overflowed. The region bounds what the pool can hold: once it is
// carved up, blocks come from malloc (the caller's fallback), and a block is the pool's by its address alone.
#include "internal.h"
#include <stdlib.h>
#include <sys/mman.h>

/// Blocks come in multiples of this size (and are aligned to it).
#define UIQ_BLOCK_STEP 16
#define UIQ_BLOCK_CLASSES (UIQ_SMALL_BLOCK / UIQ_BLOCK_STEP)
/// Address space per state: pages count in memory only once a block on them was used. The default rules carve
/// ~0.3 MiB of it when they load and ~0.5 MiB once they have scored with breakdowns; a state that has used all of
/// it keeps it until it closes (a reload replaces every state).
#define UIQ_REGION_SIZE ((size_t)8 * 1024 * 1024)

struct uiq_block_pool {
    void *free_blocks[UIQ_BLOCK_CLASSES + 1];  // per class (1...UIQ_BLOCK_CLASSES): a list through the blocks
    char *region, *cursor, *end;                // the region; what is not carved yet
};

uiq_block_pool *uiq_block_pool_new(void) {
    uiq_block_pool *pool = calloc(1, sizeof(uiq_block_pool));
    if (pool == NULL) return NULL;
    void *region = mmap(NULL, UIQ_REGION_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (region == MAP_FAILED) {
        free(pool);
        return NULL;
    }
    pool->region = pool->cursor = region;
    pool->end = pool->region + UIQ_REGION_SIZE;
    return pool;
}

void uiq_block_pool_free(uiq_block_pool *pool) {
    if (pool == NULL) return;
    munmap(pool->region, UIQ_REGION_SIZE);
    free(pool);
}

size_t uiq_block_pool_carved(const uiq_block_pool *pool) { return (size_t)(pool->cursor - pool->region); }

static size_t block_class(size_t size) { return (size + UIQ_BLOCK_STEP - 1) / UIQ_BLOCK_STEP; }

int uiq_block_same_class(size_t a, size_t b) { return block_class(a) == block_class(b); }

int uiq_block_owns(const uiq_block_pool *pool, const void *block) {
    return (const char *)block >= pool->region && (const char *)block < pool->end;
}

void *uiq_block_take(uiq_block_pool *pool, size_t size) {
    size_t class = block_class(size);
    void *block = pool->free_blocks[class];
    if (block != NULL) {
        pool->free_blocks[class] = *(void **)block;
        return block;
    }
    size_t bytes = class * UIQ_BLOCK_STEP;
    if ((size_t)(pool->end - pool->cursor) < bytes) return NULL;  // the region is carved up: malloc's turn
    block = pool->cursor;
    pool->cursor += bytes;
    return block;
}

void uiq_block_give(uiq_block_pool *pool, void *block, size_t size) {
    size_t class = block_class(size);
    *(void **)block = pool->free_blocks[class];
    pool->free_blocks[class] = block;
}
