// Shared between the CLuaHost source files; not part of the Swift-facing API.
#ifndef UIQ_CLUAHOST_INTERNAL_H
#define UIQ_CLUAHOST_INTERNAL_H
#include "CLuaHost.h"

#define UIQ_MODULES_KEY "uiq.modules"
#define UIQ_TYPES_KEY "uiq.types"
#define UIQ_OBJECT_TAG 0x55495130u  /* "UIQ0" */

/// The payload of every host-object userdata: a tag and type to recognise it without a metatable lookup,
/// the Swift object it owns, and that object's C view.
typedef struct uiq_object_slot {
    uint32_t tag;
    int type_id;
    void *object;
    const void *native;
} uiq_object_slot;

/// The slot of a host object of `type_id` at `index`, or NULL. Never raises.
uiq_object_slot *uiq_object_slot_at(lua_State *L, int index, int type_id);
/// Pushes `modules[module]`, creating it when missing; returns its absolute index. May raise.
int uiq_module_table(lua_State *L, const char *module);
/// Marks the current run as over budget: from now on every instruction raises host->budget_message.
void uiq_abort_run(lua_State *L);
/// Frees the state's regex match resources.
void uiq_regex_free_scratch(uiq_host *host);
/// Creates the state's regex match resources; 0 when out of memory.
int uiq_regex_make_scratch(uiq_host *host, uint32_t match_limit, uint32_t depth_limit);
/// Lua's blocks of at most this many bytes come from the state's block pool (blockpool.c) while its region lasts
/// (and not at all under AddressSanitizer: see state.c); larger ones, and the rest, from malloc.
#define UIQ_SMALL_BLOCK 256
typedef struct uiq_block_pool uiq_block_pool;
/// A pool with its region mapped; NULL when out of memory.
uiq_block_pool *uiq_block_pool_new(void);
/// Unmaps the region, and with it every block the pool gave.
void uiq_block_pool_free(uiq_block_pool *pool);
/// A block of `size` (1...UIQ_SMALL_BLOCK) bytes, 16-byte aligned; NULL when the region is carved up and no block
/// of its size is free.
void *uiq_block_take(uiq_block_pool *pool, size_t size);
/// Returns a block of the pool taken for `size` bytes (or for a larger size: it then serves the smaller class).
void uiq_block_give(uiq_block_pool *pool, void *block, size_t size);
/// Whether `block` lies in the pool's region (so it is the pool's to take back).
int uiq_block_owns(const uiq_block_pool *pool, const void *block);
/// Whether blocks of `a` and `b` bytes are the same block size.
int uiq_block_same_class(size_t a, size_t b);
/// How much of the region has been carved into blocks so far.
size_t uiq_block_pool_carved(const uiq_block_pool *pool);
/// The description of the deferred table at `index` when it is one not built yet, else NULL. Never raises.
const uiq_deferred_header *uiq_deferred_header_at(lua_State *L, int index);
/// Pushes a deferred table for the method `method` called with stack values 1 (receiver) and 2 (text), whose
/// result it is (`result_index` of `result_count`). May raise.
void uiq_push_deferred_table(lua_State *L, const char *description, size_t length, const char *method,
                             int result_index, int result_count);
/// The offsets of a description's members (three uint64 each: key start, key end, value end) and its text.
const uint64_t *uiq_deferred_offsets(const uiq_deferred_header *header);
const char *uiq_deferred_text(const uiq_deferred_header *header);
#endif
