// PCRE2 on the scoring hot path: each state's match resources, and the `test`/`find` methods of regex
// objects, which run entirely in C (compiling and caching patterns is Swift's job, in RegexPattern).
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "internal.h"

#include <hs/hs.h>
#include <limits.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OVECTOR_PAIRS 32

int uiq_regex_make_scratch(uiq_host *host, uint32_t match_limit, uint32_t depth_limit) {
    host->match_data = pcre2_match_data_create(OVECTOR_PAIRS, NULL);
    host->match_context = pcre2_match_context_create(NULL);
    host->jit_stack = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
    if (!host->match_data || !host->match_context) return 0;
    pcre2_set_match_limit(host->match_context, match_limit);
    pcre2_set_depth_limit(host->match_context, depth_limit);
    if (host->jit_stack) pcre2_jit_stack_assign(host->match_context, NULL, host->jit_stack);
    return 1;
}

void uiq_regex_free_scratch(uiq_host *host) {
    if (host->match_data) pcre2_match_data_free(host->match_data);
    if (host->match_context) pcre2_match_context_free(host->match_context);
    if (host->jit_stack) pcre2_jit_stack_free(host->jit_stack);
    host->match_data = host->match_context = host->jit_stack = NULL;
    if (host->prefilter_scratch) hs_free_scratch(host->prefilter_scratch);
    host->prefilter_scratch = NULL;
    free(host->candidates);
    free(host->candidate_marks);
    host->candidates = NULL;
    host->candidate_marks = NULL;
    host->candidate_capacity = 0;
}

int uiq_regex_match(uiq_host *host, const uiq_regex *regex, const char *subject, size_t length, size_t start,
                    int trusted, int ascii) {
    PCRE2_SPTR s = (PCRE2_SPTR)(subject ? subject : "");
    if (ascii && regex->ascii_code) {
        const pcre2_code *code = regex->ascii_code;
        return regex->ascii_jit ? pcre2_jit_match(code, s, length, start, 0, host->match_data, host->match_context)
                                : pcre2_match(code, s, length, start, 0, host->match_data, host->match_context);
    }
    const pcre2_code *code = regex->code;
    if (trusted && regex->jit) return pcre2_jit_match(code, s, length, start, 0, host->match_data, host->match_context);
    return pcre2_match(code, s, length, start, trusted ? PCRE2_NO_UTF_CHECK : 0, host->match_data,
                       host->match_context);
}

size_t *uiq_regex_ovector(uiq_host *host, uint32_t *pairs) {
    *pairs = pcre2_get_ovector_count(host->match_data);
    return pcre2_get_ovector_pointer(host->match_data);
}

/// Arguments of test/find: the receiver, the text, the optional 1-based init. Raises on misuse.
static const uiq_regex *regex_arguments(lua_State *L, const char *method, const char **text, size_t *length,
                                        size_t *start, int *out_of_range) {
    int type_id = (int)lua_tointeger(L, lua_upvalueindex(1));
    uiq_object_slot *slot = uiq_object_slot_at(L, 1, type_id);
    if (slot == NULL || slot->native == NULL) luaL_error(L, "bad receiver for '%s' (call it with ':')", method);
    if (lua_type(L, 2) != LUA_TSTRING) {
        luaL_error(L, "bad argument #1 to '%s' (string expected, got %s)", method, luaL_typename(L, 2));
    }
    *text = lua_tolstring(L, 2, length);
    *start = 0;
    *out_of_range = 0;
    if (lua_type(L, 3) > LUA_TNIL) {
        int isnum = 0;
        lua_Integer init = lua_tointegerx(L, 3, &isnum);
        if (!isnum) luaL_error(L, "bad argument #2 to '%s' (integer expected)", method);
        if (init < 0) init = (lua_Integer)*length + init + 1;
        if (init < 1) init = 1;
        if ((size_t)(init - 1) > *length) *out_of_range = 1;
        else *start = (size_t)(init - 1);
    }
    return (const uiq_regex *)slot->native;
}

/// Runs the match; on a limit or error pushes the (nil, reason) pair or raises. Returns the PCRE2 code, or
/// INT32_MIN after pushing the limit answer.
static int run_match(lua_State *L, const uiq_regex *regex, const char *text, size_t length, size_t start) {
    uiq_host *host = uiq_host_of(L);
    int trusted = text == host->trusted_text;
    int ascii = trusted ? host->trusted_ascii : uiq_is_ascii((const unsigned char *)text, length);
    int rc = uiq_regex_match(host, regex, text, length, start, trusted, ascii);
    if (rc >= 0 || rc == PCRE2_ERROR_NOMATCH) return rc;
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
        rc == PCRE2_ERROR_JIT_STACKLIMIT) {
        lua_pushnil(L);
        lua_pushliteral(L, "match limit exceeded");
        return INT32_MIN;
    }
    PCRE2_UCHAR message[256];
    if (pcre2_get_error_message(rc, message, sizeof message) < 0) snprintf((char *)message, sizeof message, "error %d", rc);
    return luaL_error(L, "re: %s", (const char *)message);
}

/// pattern:test(text [, init]) → boolean | nil, "match limit exceeded"
static int regex_test(lua_State *L) {
    const char *text;
    size_t length, start;
    int out_of_range;
    const uiq_regex *regex = regex_arguments(L, "test", &text, &length, &start, &out_of_range);
    if (out_of_range) {
        lua_pushboolean(L, 0);
        return 1;
    }
    int rc = run_match(L, regex, text, length, start);
    if (rc == INT32_MIN) return 2;
    lua_pushboolean(L, rc >= 0);
    return 1;
}

/// pattern:find(text [, init]) → start, end (1-based, inclusive) | nil | nil, "match limit exceeded"
static int regex_find(lua_State *L) {
    const char *text;
    size_t length, start;
    int out_of_range;
    const uiq_regex *regex = regex_arguments(L, "find", &text, &length, &start, &out_of_range);
    if (out_of_range) {
        lua_pushnil(L);
        return 1;
    }
    int rc = run_match(L, regex, text, length, start);
    if (rc == INT32_MIN) return 2;
    if (rc < 0) {
        lua_pushnil(L);
        return 1;
    }
    PCRE2_SIZE *ovector = pcre2_get_ovector_pointer(uiq_host_of(L)->match_data);
    lua_pushinteger(L, (lua_Integer)ovector[0] + 1);
    lua_pushinteger(L, (lua_Integer)ovector[1]);
    return 2;
}

/// set:test(text) → hits, limited: bit i-1 of `hits` is set when pattern i matches, of `limited` when the
/// match limit stopped pattern i (counted as no match). One call for every pattern of the set.
// ---- Regex sets ------------------------------------------------------------------------------------------

unsigned uiq_prefilter_flag_caseless(void) { return HS_FLAG_CASELESS; }
unsigned uiq_prefilter_flag_dotall(void) { return HS_FLAG_DOTALL; }
unsigned uiq_prefilter_flag_multiline(void) { return HS_FLAG_MULTILINE; }

void *uiq_prefilter_compile(const char *const *sources, const unsigned *flags, int count, int *judged, int utf8) {
    // Not HS_FLAG_SINGLEMATCH: in a database of many patterns Vectorscan 5.4.9 then misses some matches (found by
    // RegexSetTests); the scan callback keeps the first report of each pattern instead.
    const unsigned common = HS_FLAG_PREFILTER | HS_FLAG_ALLOWEMPTY | (utf8 ? HS_FLAG_UTF8 | HS_FLAG_UCP : 0);
    const char **expressions = malloc(sizeof(char *) * (size_t)(count > 0 ? count : 1));
    unsigned *all_flags = malloc(sizeof(unsigned) * (size_t)(count > 0 ? count : 1));
    unsigned *ids = malloc(sizeof(unsigned) * (size_t)(count > 0 ? count : 1));
    hs_database_t *database = NULL;
    if (!expressions || !all_flags || !ids) goto done;
    // A pattern Hyperscan cannot take, even as a prefilter, is left to PCRE2 alone and the rest compiled again
    // (compile errors come from the parser, before the expensive part).
    for (int attempt = 0; attempt <= count; attempt++) {
        int n = 0;
        for (int i = 0; i < count; i++) {
            if (!judged[i]) continue;
            expressions[n] = sources[i];
            all_flags[n] = flags[i] | common;
            ids[n] = (unsigned)i;
            n++;
        }
        if (n == 0) break;
        hs_compile_error_t *failure = NULL;
        if (hs_compile_multi(expressions, all_flags, ids, (unsigned)n, HS_MODE_BLOCK, NULL, &database, &failure) == HS_SUCCESS) break;
        database = NULL;
        if (failure && failure->expression >= 0 && failure->expression < n) {
            judged[ids[failure->expression]] = 0;  // that one goes to PCRE2 alone; try the rest again
            hs_free_compile_error(failure);
            continue;
        }
        hs_free_compile_error(failure);
        break;
    }
done:
    if (!database) for (int i = 0; i < count; i++) judged[i] = 0;
    free(expressions);
    free(all_flags);
    free(ids);
    return database;
}

void uiq_prefilter_free(void *database) {
    if (database) hs_free_database(database);
}

typedef struct candidate_list {
    int *items;
    int count;
    unsigned *marks;
    unsigned mark;
} candidate_list;

static int on_candidate(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags, void *context) {
    (void)from; (void)to; (void)flags;
    candidate_list *list = context;
    if (list->marks[id] != list->mark) {  // the first report of this pattern in this scan
        list->marks[id] = list->mark;
        list->items[list->count++] = (int)id;
    }
    return 0;
}

static int compare_ints(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/// Whether `text` holds a character that PCRE2's caseless matching folds to an ASCII letter (ſ U+017F to s,
/// K U+212A to k): then a caseless prefilter is not trusted with it.
static int has_ascii_fold_partner(const unsigned char *text, size_t length) {
    for (size_t i = 0; i + 1 < length; i++) {
        if (text[i] == 0xC5 && text[i + 1] == 0xBF) return 1;
        if (i + 2 < length && text[i] == 0xE2 && text[i + 1] == 0x84 && text[i + 2] == 0xAA) return 1;
    }
    return 0;
}

/// The patterns of `set` to try on `text`, ascending, in the host's candidate buffer: the prefilter's candidates
/// and the unfiltered ones, or every pattern when there is no prefilter or it cannot be trusted with this text.
/// -1 when memory runs out.
static int set_candidates(uiq_host *host, const uiq_regex_set *set, const char *text, size_t length, int trusted, int ascii) {
    if (host->candidate_capacity < set->count) {
        int *grown = realloc(host->candidates, sizeof(int) * (size_t)set->count);
        if (!grown) return -1;
        host->candidates = grown;
        unsigned *marks = realloc(host->candidate_marks, sizeof(unsigned) * (size_t)set->count);
        if (!marks) return -1;
        memset(marks + host->candidate_capacity, 0, sizeof(unsigned) * (size_t)(set->count - host->candidate_capacity));
        host->candidate_marks = marks;
        host->candidate_capacity = set->count;
    }
    if (++host->scan_number == 0) {  // wrapped: forget every mark
        memset(host->candidate_marks, 0, sizeof(unsigned) * (size_t)host->candidate_capacity);
        host->scan_number = 1;
    }
    int has_prefilter = set->prefilter != NULL || set->byte_prefilter != NULL;
    int use_prefilter = has_prefilter && (trusted || ascii)  // Hyperscan's UTF-8 mode needs valid UTF-8
        && (ascii || !set->caseless_filtered || !has_ascii_fold_partner((const unsigned char *)text, length));
    if (use_prefilter && host->prefilter_sized_for != set->id) {
        // hs_alloc_scratch may free the old scratch and, failing, leave NULL: the host keeps whatever it left.
        hs_scratch_t *scratch = host->prefilter_scratch;
        int sized = 1;
        if (set->prefilter && hs_alloc_scratch(set->prefilter, &scratch) != HS_SUCCESS) sized = 0;
        host->prefilter_scratch = scratch;
        if (sized && set->byte_prefilter && hs_alloc_scratch(set->byte_prefilter, &scratch) != HS_SUCCESS) sized = 0;
        host->prefilter_scratch = scratch;
        host->prefilter_sized_for = sized ? set->id : 0;
        if (!sized) use_prefilter = 0;  // try every pattern this time
    }
    candidate_list list = { host->candidates, 0, host->candidate_marks, host->scan_number };
    if (!use_prefilter) {
        for (int i = 0; i < set->count; i++) list.items[list.count++] = i;
        return list.count;
    }
    const char *subject = text ? text : "";
    if ((set->prefilter && hs_scan(set->prefilter, subject, (unsigned)length, 0, host->prefilter_scratch, on_candidate, &list) != HS_SUCCESS)
        || (set->byte_prefilter && hs_scan(set->byte_prefilter, subject, (unsigned)length, 0, host->prefilter_scratch, on_candidate, &list) != HS_SUCCESS)) {
        list.count = 0;  // a failed scan judges nothing: try every pattern
        for (int i = 0; i < set->count; i++) list.items[list.count++] = i;
        return list.count;
    }
    for (int i = 0; i < set->unfiltered_count; i++) list.items[list.count++] = set->unfiltered[i];
    if (list.count > 1) qsort(list.items, (size_t)list.count, sizeof(int), compare_ints);
    return list.count;
}

/// Tries the candidate patterns of the set at index 1 of the stack on the text at index 2; calls `visit(i, limited)`
/// for each that matches (limited = 0) or hit PCRE2's limits (limited = 1), in ascending order. Sets of more than
/// `most` patterns are an error (`test` answers with a 64-bit mask). 0, or a Lua error.
typedef void (*set_visit)(lua_State *L, int index, int limited, void *context);

static int run_set(lua_State *L, const char *method, int most, set_visit visit, void *context) {
    int type_id = (int)lua_tointeger(L, lua_upvalueindex(1));
    uiq_object_slot *slot = uiq_object_slot_at(L, 1, type_id);
    if (slot == NULL || slot->native == NULL) return luaL_error(L, "bad receiver for '%s' (call it with ':')", method);
    if (lua_type(L, 2) != LUA_TSTRING) {
        return luaL_error(L, "bad argument #1 to '%s' (string expected, got %s)", method, luaL_typename(L, 2));
    }
    size_t length;
    const char *text = lua_tolstring(L, 2, &length);
    const uiq_regex_set *set = (const uiq_regex_set *)slot->native;
    if (set->count > most) {
        return luaL_error(L, "re: set:%s answers with a %d-bit mask; this set has %d patterns (use set:matches)", method, most,
                          set->count);
    }
    uiq_host *host = uiq_host_of(L);
    int trusted = text == host->trusted_text;
    int ascii = trusted ? host->trusted_ascii : uiq_is_ascii((const unsigned char *)text, length);
    int count = set_candidates(host, set, text, length, trusted, ascii);
    if (count < 0) return luaL_error(L, "re: not enough memory for the set's prefilter");
    for (int k = 0; k < count; k++) {
        int i = host->candidates[k];
        int rc = uiq_regex_match(host, set->items[i], text, length, 0, trusted, ascii);
        if (rc >= 0) {
            visit(L, i, 0, context);
        } else if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
                   rc == PCRE2_ERROR_JIT_STACKLIMIT) {
            visit(L, i, 1, context);
        } else if (rc != PCRE2_ERROR_NOMATCH) {
            PCRE2_UCHAR message[256];
            if (pcre2_get_error_message(rc, message, sizeof message) < 0) snprintf((char *)message, sizeof message, "error %d", rc);
            return luaL_error(L, "re: pattern %d of the set: %s", i + 1, (const char *)message);
        }
    }
    return 0;
}

typedef struct mask_pair {
    uint64_t hits, limited;
} mask_pair;

static void into_masks(lua_State *L, int index, int limited, void *context) {
    (void)L;
    mask_pair *masks = context;
    if (limited) masks->limited |= (uint64_t)1 << index; else masks->hits |= (uint64_t)1 << index;
}

/// set:test(text) → hits, limited: bit i-1 says pattern i matched (or hit the match limits). Sets of at most 64.
static int regex_set_test(lua_State *L) {
    mask_pair masks = { 0, 0 };
    run_set(L, "test", 64, into_masks, &masks);
    lua_pushinteger(L, (lua_Integer)masks.hits);
    lua_pushinteger(L, (lua_Integer)masks.limited);
    return 2;
}

typedef struct list_pair {
    int hits_table, limited_table;  // stack indices, 0 until created
    lua_Integer hits, limited;
} list_pair;

static void into_lists(lua_State *L, int index, int limited, void *context) {
    list_pair *lists = context;
    int *table = limited ? &lists->limited_table : &lists->hits_table;
    lua_Integer *length = limited ? &lists->limited : &lists->hits;
    if (*table == 0) {
        lua_createtable(L, 4, 0);
        *table = lua_gettop(L);
    }
    lua_pushinteger(L, index + 1);
    lua_rawseti(L, *table, ++*length);
}

/// set:matches(text) → hits, limited: the numbers of the patterns that matched, ascending (nil when none), and
/// of those that hit the match limits (nil when none). Any size of set.
static int regex_set_matches(lua_State *L) {
    lua_settop(L, 2);
    list_pair lists = { 0, 0, 0, 0 };
    run_set(L, "matches", INT_MAX, into_lists, &lists);
    if (lists.hits_table) lua_pushvalue(L, lists.hits_table); else lua_pushnil(L);
    if (lists.limited_table) lua_pushvalue(L, lists.limited_table); else lua_pushnil(L);
    return 2;
}

static const luaL_Reg regex_set_methods[] = { { "test", regex_set_test }, { "matches", regex_set_matches }, { NULL, NULL } };
static const luaL_Reg regex_methods[] = { { "test", regex_test }, { "find", regex_find }, { NULL, NULL } };

const luaL_Reg *uiq_regex_set_natives(void) { return regex_set_methods; }
const luaL_Reg *uiq_regex_natives(void) { return regex_methods; }
