// Lua states under limits: a capped allocator, an instruction-budget hook, protected runs, the evaluator.
#include "internal.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

// MARK: - A budget shared by many states

struct uiq_memory_budget {
    _Atomic size_t used;
    size_t limit;
};

/// States reserve from a shared budget in steps of this size.
#define UIQ_BUDGET_CHUNK ((size_t)256 * 1024)

uiq_memory_budget *uiq_budget_new(size_t limit) {
    uiq_memory_budget *budget = calloc(1, sizeof *budget);
    if (budget) {
        atomic_init(&budget->used, 0);
        budget->limit = limit;
    }
    return budget;
}

void uiq_budget_free(uiq_memory_budget *budget) { free(budget); }
size_t uiq_budget_used(const uiq_memory_budget *budget) { return atomic_load(&((uiq_memory_budget *)budget)->used); }
size_t uiq_budget_limit(const uiq_memory_budget *budget) { return budget->limit; }

/// Makes the state's reservation cover `total` bytes; 0 when the shared budget cannot.
static int reserve(uiq_host *host, size_t total) {
    if (host->budget == NULL || total <= host->reserved) return 1;
    size_t want = (total - host->reserved + UIQ_BUDGET_CHUNK - 1) / UIQ_BUDGET_CHUNK * UIQ_BUDGET_CHUNK;
    size_t before = atomic_fetch_add(&host->budget->used, want);
    if (before + want > host->budget->limit) {
        atomic_fetch_sub(&host->budget->used, want);
        return 0;
    }
    host->reserved += want;
    return 1;
}

/// Gives back what the state reserved beyond its use and one chunk of slack.
static void release_excess(uiq_host *host) {
    if (host->budget == NULL || host->reserved <= host->memory_used + 2 * UIQ_BUDGET_CHUNK) return;
    size_t keep = (host->memory_used / UIQ_BUDGET_CHUNK + 2) * UIQ_BUDGET_CHUNK;
    atomic_fetch_sub(&host->budget->used, host->reserved - keep);
    host->reserved = keep;
}

// MARK: - Allocation under a cap

/// Lua's blocks of at most this many bytes come from the state's pool. Under AddressSanitizer none do, so that it
/// sees every Lua object as its own allocation (a pool's blocks share a region it cannot tell apart).
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UIQ_POOLED_BLOCK 0
#endif
#endif
#if !defined(UIQ_POOLED_BLOCK) && defined(__SANITIZE_ADDRESS__)
#define UIQ_POOLED_BLOCK 0
#endif
#ifndef UIQ_POOLED_BLOCK
#define UIQ_POOLED_BLOCK UIQ_SMALL_BLOCK
#endif
_Static_assert(UIQ_POOLED_BLOCK <= UIQ_SMALL_BLOCK, "the pool has classes up to UIQ_SMALL_BLOCK bytes only");

/// Frees a block of `size` bytes: back to the pool when it is the pool's, else to malloc.
static void release_block(uiq_block_pool *pool, void *block, size_t size) {
    if (uiq_block_owns(pool, block)) uiq_block_give(pool, block, size);
    else free(block);
}

/// Lua's allocation without the cap: a block of `nsize` bytes (nsize > 0) holding the first bytes of `ptr` (of
/// `old` bytes, 0 when new). Small blocks come from the pool while its region lasts, the rest from malloc; a block
/// stays where it came from until it moves to a block of another size. A shrink that finds no memory keeps its
/// larger block, as Lua requires shrinking to succeed.
static void *resize(uiq_block_pool *pool, void *ptr, size_t old, size_t nsize) {
    int pooled = ptr != NULL && uiq_block_owns(pool, ptr), small = nsize <= UIQ_POOLED_BLOCK;
    if (pooled && small && uiq_block_same_class(old, nsize)) return ptr;
    void *block = small ? uiq_block_take(pool, nsize) : NULL;
    if (block == NULL) {
        if (ptr != NULL && !pooled) return realloc(ptr, nsize);
        block = malloc(nsize);
        if (block == NULL) return ptr != NULL && nsize < old ? ptr : NULL;
    }
    if (ptr != NULL) {
        memcpy(block, ptr, old < nsize ? old : nsize);
        release_block(pool, ptr, old);
    }
    return block;
}

/// Refuses growth past the state's cap or the shared budget (Lua then collects garbage and retries, or raises
/// "not enough memory"); shrinking and freeing always succeed, as Lua requires.
static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    uiq_host *host = (uiq_host *)ud;
    size_t old = ptr ? osize : 0;  // with ptr == NULL, osize is a type tag, not a size
    if (nsize == 0) {
        if (ptr != NULL) release_block(host->small_blocks, ptr, old);
        host->memory_used -= old;
        release_excess(host);
        return NULL;
    }
    if (nsize > old) {
        size_t total = host->memory_used - old + nsize;
        if (total > host->memory_limit) {
            host->memory_refused = 1;
            return NULL;
        }
        if (!reserve(host, total)) {
            host->memory_refused = 1;
            host->budget_refused = 1;
            return NULL;
        }
    }
    void *grown = resize(host->small_blocks, ptr, old, nsize);
    if (grown == NULL) return NULL;
    host->memory_used = host->memory_used - old + nsize;
    if (nsize < old) release_excess(host);
    return grown;
}

/// An error outside any protected call: a bug in the host. Say so loudly before Lua aborts.
static int panic_handler(lua_State *L) {
    const char *message = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(non-string error)";
    fprintf(stderr, "urgencyiq: unprotected Lua error (host bug): %s\n", message);
    return 0;
}

lua_State *uiq_state_new(size_t memory_limit, uiq_memory_budget *budget, uiq_release_fn release, uint32_t match_limit,
                         uint32_t depth_limit) {
    uiq_host *host = calloc(1, sizeof(uiq_host));
    if (host == NULL) return NULL;
    host->memory_limit = memory_limit;
    host->budget = budget;
    host->release = release;
    if (!uiq_regex_make_scratch(host, match_limit, depth_limit)) {
        uiq_regex_free_scratch(host);
        free(host);
        return NULL;
    }
    host->small_blocks = uiq_block_pool_new();
    lua_State *L = host->small_blocks != NULL ? lua_newstate(capped_alloc, host) : NULL;
    if (L == NULL) {
        uiq_block_pool_free(host->small_blocks);
        uiq_regex_free_scratch(host);
        if (budget) atomic_fetch_sub(&budget->used, host->reserved);
        free(host);
        return NULL;
    }
    *(uiq_host **)lua_getextraspace(L) = host;
    lua_atpanic(L, panic_handler);
    lua_gc(L, LUA_GCGEN, 0, 0);  // scoring makes short-lived garbage: the generational mode suits it
    return L;
}

void uiq_state_close(lua_State *L) {
    uiq_host *host = uiq_host_of(L);
    lua_sethook(L, NULL, 0, 0);
    lua_close(L);
    uiq_block_pool_free(host->small_blocks);
    uiq_regex_free_scratch(host);
    if (host->budget) atomic_fetch_sub(&host->budget->used, host->reserved);
    free(host);
}

size_t uiq_collect_garbage(lua_State *L) {
    lua_gc(L, LUA_GCCOLLECT, 0);
    return (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB, 0);
}

int uiq_small_objects_pooled(void) { return UIQ_POOLED_BLOCK > 0; }

size_t uiq_state_pooled_bytes(lua_State *L) { return uiq_block_pool_carved(uiq_host_of(L)->small_blocks); }

// MARK: - Instruction budget

/// Fires when the budget runs out, then on every instruction after it, so that a `pcall` in a rule cannot
/// swallow the abort: the first instruction outside the pcall raises again, with the first message (which
/// names the rule line that ran out, not the line that caught it).
static void budget_hook(lua_State *L, lua_Debug *ar) {
    uiq_host *host = uiq_host_of(L);
    if (!host->budget_exhausted) {
        host->budget_exhausted = 1;
        const char *where = "?";
        int line = 0;
        if (lua_getinfo(L, "Sl", ar)) {
            where = ar->short_src;
            line = ar->currentline;
        }
        snprintf(host->budget_message, sizeof host->budget_message,
                 "%s:%d: instruction budget exceeded (%lld instructions)", where, line, host->instruction_budget);
        lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
    }
    lua_pushstring(L, host->budget_message);
    lua_error(L);
}

void uiq_abort_run(lua_State *L) {
    uiq_host_of(L)->budget_exhausted = 1;
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
}

static void arm_budget(lua_State *L, long long budget) {
    uiq_host *host = uiq_host_of(L);
    host->instruction_budget = budget;
    host->pattern_steps = budget;
    host->budget_exhausted = 0;
    host->memory_refused = 0;
    host->budget_refused = 0;
    int count = budget > 0x7fffffff ? 0x7fffffff : (int)budget;
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, count > 0 ? count : 1);
}

// MARK: - Libraries

static void require_library(lua_State *L, const char *name, lua_CFunction open) {
    luaL_requiref(L, name, open, 1);
    lua_pop(L, 1);
}

static int open_libraries_k(lua_State *L) {
    require_library(L, LUA_GNAME, luaopen_base);
    require_library(L, LUA_STRLIBNAME, luaopen_string);
    require_library(L, LUA_TABLIBNAME, luaopen_table);
    require_library(L, LUA_MATHLIBNAME, luaopen_math);
    require_library(L, LUA_UTF8LIBNAME, luaopen_utf8);
    require_library(L, LUA_OSLIBNAME, luaopen_os);  // the prelude keeps time, clock and date only
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, UIQ_MODULES_KEY);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, UIQ_TYPES_KEY);
    return 0;
}

int uiq_open_libraries(lua_State *L) {
    lua_pushcfunction(L, open_libraries_k);
    return lua_pcall(L, 0, 0, 0);
}

// MARK: - Running code

int uiq_call_budgeted(lua_State *L, int nargs, int nresults, long long budget) {
    arm_budget(L, budget);
    return lua_pcall(L, nargs, nresults, 0);
}

int uiq_run_chunk(lua_State *L, const char *source, size_t length, const char *chunk_name, int nargs,
                  int nresults, long long budget) {
    int status = luaL_loadbufferx(L, source, length, chunk_name, "t");
    if (status != LUA_OK) {
        lua_insert(L, -1 - nargs);  // error below the arguments, which are dropped
        lua_pop(L, nargs);
        return status;
    }
    lua_insert(L, -1 - nargs);  // function below its arguments
    return uiq_call_budgeted(L, nargs, nresults, budget);
}

int uiq_compile(lua_State *L, const char *source, size_t length, const char *chunk_name) {
    int status = luaL_loadbufferx(L, source, length, chunk_name, "t");
    if (status == LUA_OK) lua_pop(L, 1);
    return status;
}

// MARK: - The evaluator

typedef struct evaluation {
    const char *text;
    size_t length;
    long long customer_id;
    int has_customer;
    int explain;
    int llm_enabled;
} evaluation;

enum {
    UPVALUE_SCORE = 1, UPVALUE_CTX, UPVALUE_STORE, UPVALUE_KEY_TEXT, UPVALUE_KEY_CUSTOMER, UPVALUE_KEY_EXPLAIN,
    UPVALUE_KEY_LLM, UPVALUE_COUNT = UPVALUE_KEY_LLM
};

/// The evaluator closure: keeps score, ctx, its store and the field names as upvalues, so an evaluation
/// creates no key strings and looks nothing up by name.
static int evaluate_k(lua_State *L) {
    evaluation *e = (evaluation *)lua_touserdata(L, 1);
    lua_settop(L, 0);
    lua_pushlstring(L, e->text, e->length);  // 1: the text, pinned on the stack for the whole call
    uiq_host *host = uiq_host_of(L);
    host->trusted_text = lua_tostring(L, 1);
    host->trusted_length = e->length;
    host->trusted_ascii = uiq_is_ascii((const unsigned char *)e->text, e->length);
    lua_pushvalue(L, lua_upvalueindex(UPVALUE_STORE));  // 2: ctx's hidden store
    lua_pushvalue(L, lua_upvalueindex(UPVALUE_KEY_EXPLAIN));
    lua_pushboolean(L, e->explain);
    lua_rawset(L, 2);
    lua_pushvalue(L, lua_upvalueindex(UPVALUE_KEY_LLM));
    lua_pushboolean(L, e->llm_enabled);
    lua_rawset(L, 2);
    lua_pushvalue(L, lua_upvalueindex(UPVALUE_SCORE));  // 3: score
    lua_createtable(L, 0, 2);                           // 4: message
    lua_pushvalue(L, lua_upvalueindex(UPVALUE_KEY_TEXT));
    lua_pushvalue(L, 1);
    lua_rawset(L, 4);
    if (e->has_customer) {
        lua_pushvalue(L, lua_upvalueindex(UPVALUE_KEY_CUSTOMER));
        lua_pushinteger(L, (lua_Integer)e->customer_id);
        lua_rawset(L, 4);
    }
    lua_pushvalue(L, lua_upvalueindex(UPVALUE_CTX));    // 5: ctx
    lua_call(L, 2, 2);
    return 2;
}

static int make_evaluator_k(lua_State *L) {
    // 1: score, 2: ctx, 3: store
    lua_pushliteral(L, "text");
    lua_pushliteral(L, "customer_id");
    lua_pushliteral(L, "explain");
    lua_pushliteral(L, "llm_enabled");
    lua_pushcclosure(L, evaluate_k, UPVALUE_COUNT);
    return 1;
}

int uiq_make_evaluator(lua_State *L) {
    lua_pushcfunction(L, make_evaluator_k);
    lua_insert(L, -4);
    return lua_pcall(L, 3, 1, 0);
}

int uiq_evaluate(lua_State *L, int evaluator_ref, const char *text, size_t length, long long customer_id,
                 int has_customer, int explain, int llm_enabled, long long budget) {
    evaluation e = {text, length, customer_id, has_customer, explain, llm_enabled};
    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, evaluator_ref);
    lua_pushlightuserdata(L, &e);
    arm_budget(L, budget);
    int status = lua_pcall(L, 1, 2, 0);
    uiq_host_of(L)->trusted_text = NULL;
    return status;
}

// MARK: - References

static int ref_top_k(lua_State *L) {
    lua_pushvalue(L, 1);
    lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
    return 1;
}

int uiq_ref_top(lua_State *L) {
    lua_pushcfunction(L, ref_top_k);
    lua_insert(L, -2);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        return LUA_NOREF;
    }
    int ref = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return ref;
}
