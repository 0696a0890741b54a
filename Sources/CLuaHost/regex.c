// PCRE2 on the scoring hot path: each state's match resources, and the `test`/`find` methods of regex
// objects, which run entirely in C (compiling and caching patterns is Swift's job, in RegexPattern).
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "internal.h"

#include <lauxlib.h>
#include <stdio.h>

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
static int regex_set_test(lua_State *L) {
    int type_id = (int)lua_tointeger(L, lua_upvalueindex(1));
    uiq_object_slot *slot = uiq_object_slot_at(L, 1, type_id);
    if (slot == NULL || slot->native == NULL) return luaL_error(L, "bad receiver for 'test' (call it with ':')");
    if (lua_type(L, 2) != LUA_TSTRING) {
        return luaL_error(L, "bad argument #1 to 'test' (string expected, got %s)", luaL_typename(L, 2));
    }
    size_t length;
    const char *text = lua_tolstring(L, 2, &length);
    const uiq_regex_set *set = (const uiq_regex_set *)slot->native;
    uiq_host *host = uiq_host_of(L);
    int trusted = text == host->trusted_text;
    int ascii = trusted ? host->trusted_ascii : uiq_is_ascii((const unsigned char *)text, length);
    uint64_t hits = 0, limited = 0;
    for (int i = 0; i < set->count; i++) {
        int rc = uiq_regex_match(host, set->items[i], text, length, 0, trusted, ascii);
        if (rc >= 0) {
            hits |= (uint64_t)1 << i;
        } else if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
                   rc == PCRE2_ERROR_JIT_STACKLIMIT) {
            limited |= (uint64_t)1 << i;
        } else if (rc != PCRE2_ERROR_NOMATCH) {
            PCRE2_UCHAR message[256];
            if (pcre2_get_error_message(rc, message, sizeof message) < 0) snprintf((char *)message, sizeof message, "error %d", rc);
            return luaL_error(L, "re: pattern %d of the set: %s", i + 1, (const char *)message);
        }
    }
    lua_pushinteger(L, (lua_Integer)hits);
    lua_pushinteger(L, (lua_Integer)limited);
    return 2;
}

static const luaL_Reg regex_set_methods[] = { { "test", regex_set_test }, { NULL, NULL } };
static const luaL_Reg regex_methods[] = { { "test", regex_test }, { "find", regex_find }, { NULL, NULL } };

const luaL_Reg *uiq_regex_set_natives(void) { return regex_set_methods; }
const luaL_Reg *uiq_regex_natives(void) { return regex_methods; }
