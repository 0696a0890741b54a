// Lua's small objects (tables, short strings, closures, up to UIQ_SMALL_BLOCK bytes) from free lists by size class,
// carved from slabs the pool keeps until the state closes. Scoring with a breakdown makes and drops a few dozen
// of them per message; taking one from its list is a few instructions where malloc's tcache overflowed.
#include "internal.h"
#include <stdlib.h>

/// Blocks come in multiples of this size (and are aligned to it).
#define UIQ_BLOCK_STEP 16
#define UIQ_BLOCK_CLASSES (UIQ_SMALL_BLOCK / UIQ_BLOCK_STEP)
/// Slabs are this large; the first UIQ_BLOCK_STEP bytes of each link it to the previous one.
#define UIQ_SLAB_SIZE ((size_t)64 * 1024)

struct uiq_block_pool {
    void *free_blocks[UIQ_BLOCK_CLASSES + 1];  // per class (1...UIQ_BLOCK_CLASSES): a list through the blocks
    char *cursor, *end;                         // what is left of the newest slab
    void *slabs;                                // the newest slab; each starts with the one before
};

uiq_block_pool *uiq_block_pool_new(void) { return calloc(1, sizeof(uiq_block_pool)); }

void uiq_block_pool_free(uiq_block_pool *pool) {
    if (pool == NULL) return;
    void *slab = pool->slabs;
    while (slab != NULL) {
        void *previous = *(void **)slab;
        free(slab);
        slab = previous;
    }
    free(pool);
}

static size_t block_class(size_t size) { return (size + UIQ_BLOCK_STEP - 1) / UIQ_BLOCK_STEP; }

int uiq_block_same_class(size_t a, size_t b) { return block_class(a) == block_class(b); }

void *uiq_block_take(uiq_block_pool *pool, size_t size) {
    size_t class = block_class(size);
    void *block = pool->free_blocks[class];
    if (block != NULL) {
        pool->free_blocks[class] = *(void **)block;
        return block;
    }
    size_t bytes = class * UIQ_BLOCK_STEP;
    if ((size_t)(pool->end - pool->cursor) < bytes) {
        char *slab = malloc(UIQ_SLAB_SIZE);
        if (slab == NULL) return NULL;
        *(void **)slab = pool->slabs;
        pool->slabs = slab;
        pool->cursor = slab + UIQ_BLOCK_STEP;
        pool->end = slab + UIQ_SLAB_SIZE;
    }
    block = pool->cursor;
    pool->cursor += bytes;
    return block;
}

void uiq_block_give(uiq_block_pool *pool, void *block, size_t size) {
    size_t class = block_class(size);
    *(void **)block = pool->free_blocks[class];
    pool->free_blocks[class] = block;
}
