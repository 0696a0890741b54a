// Deferred tables: what a method returns as JSON text and builds only when the rules look (see CLuaHost.h).
//
// A deferred table is an ordinary Lua table with a metatable of its own: the metamethods below, and under a key
// only this file has, its description (a userdata: header, offsets, JSON text, with the receiver and the text
// argument as user values). What the rules set on it goes into the table itself, which holds nothing else; the
// sandbox's getmetatable builds it before answering, so rules never see the metatable. Building it calls the
// method again, copies in every key the rules have not set, and drops the metatable, so from then on it is an
// ordinary table.
#include "internal.h"

/// The key of the description in a deferred table's metatable.
static const char description_key = 'D';
/// The metamethods every deferred table's metatable has (defined below).
static const luaL_Reg metamethods[];

// MARK: - Recognising one

/// Pushes the description of the deferred table at `index` (an absolute index), or nothing; returns its header.
/// Never raises.
static const uiq_deferred_header *push_description(lua_State *L, int index) {
    if (lua_type(L, index) != LUA_TTABLE || !lua_getmetatable(L, index)) return NULL;
    int type = lua_rawgetp(L, -1, &description_key);
    lua_remove(L, -2);
    const uiq_deferred_header *header = type == LUA_TUSERDATA ? lua_touserdata(L, -1) : NULL;
    if (header == NULL || lua_rawlen(L, -1) < sizeof *header || header->magic != UIQ_DEFERRED_MAGIC) {
        lua_pop(L, 1);
        return NULL;
    }
    return header;
}

const uiq_deferred_header *uiq_deferred_header_at(lua_State *L, int index) {
    const uiq_deferred_header *header = push_description(L, lua_absindex(L, index));
    if (header != NULL) lua_pop(L, 1);  // the metatable keeps it alive
    return header;
}

int uiq_deferred_pending(lua_State *L, int index) { return uiq_deferred_header_at(L, index) != NULL; }

const uint64_t *uiq_deferred_offsets(const uiq_deferred_header *header) {
    return (const uint64_t *)(const void *)(header + 1);
}

const char *uiq_deferred_text(const uiq_deferred_header *header) {
    return (const char *)(uiq_deferred_offsets(header) + 3 * (size_t)header->member_count);
}

// MARK: - Making one

/// Whether a method's description holds together: the right magic, members back to back within the text, each key
/// a plain literal, counts in range. What the JSON writer and the key test rely on.
static int description_is_sound(const unsigned char *bytes, size_t length) {
    if (length < sizeof(uiq_deferred_header)) return 0;
    uiq_deferred_header header;
    memcpy(&header, bytes, sizeof header);
    if (header.magic != UIQ_DEFERRED_MAGIC || header.member_count == 0 || header.member_count > 4096
        || header.value_count > (uint32_t)INT32_MAX / 2 || header.depth > UIQ_JSON_MAX_DEPTH) return 0;
    size_t offsets_size = 3 * sizeof(uint64_t) * header.member_count;
    if (length - sizeof header < offsets_size || length - sizeof header - offsets_size != header.text_length) return 0;
    const unsigned char *text = bytes + sizeof header + offsets_size;
    uint64_t previous_end = 0;
    for (uint32_t i = 0; i < header.member_count; i++) {
        uint64_t offsets[3];
        memcpy(offsets, bytes + sizeof header + 3 * sizeof(uint64_t) * i, sizeof offsets);
        if (offsets[0] != previous_end || offsets[1] < offsets[0] + 2 || offsets[2] <= offsets[1]
            || offsets[2] > header.text_length) return 0;
        if (text[offsets[0]] != '"' || text[offsets[1] - 1] != '"') return 0;
        for (uint64_t at = offsets[0] + 1; at + 1 < offsets[1]; at++) {
            if (text[at] < 0x20 || text[at] >= 0x7f || text[at] == '"' || text[at] == '\\') return 0;
        }
        previous_end = offsets[2];
    }
    return previous_end == header.text_length;
}

void uiq_push_deferred_table(lua_State *L, const char *description, size_t length, const char *method,
                             int result_index, int result_count) {
    if (description == NULL || !description_is_sound((const unsigned char *)description, length)) {
        luaL_error(L, "host table: malformed deferred table (a bug of the host function that returned it)");
    }
    lua_createtable(L, 0, 2);
    int table = lua_gettop(L);
    lua_createtable(L, 0, 5);  // its metatable: the metamethods and the description
    int metatable = lua_gettop(L);
    luaL_setfuncs(L, metamethods, 0);
    uiq_deferred_header *header = lua_newuserdatauv(L, length, 2);
    memcpy(header, description, length);
    size_t method_length = strlen(method);
    if (method_length >= sizeof header->method) method_length = sizeof header->method - 1;
    memcpy(header->method, method, method_length);
    header->method[method_length] = '\0';
    header->result_index = result_index;
    header->result_count = result_count;
    lua_pushvalue(L, 1);  // the receiver
    lua_setiuservalue(L, -2, 1);
    lua_pushvalue(L, 2);  // the text
    lua_setiuservalue(L, -2, 2);
    lua_rawsetp(L, metatable, &description_key);
    lua_setmetatable(L, table);
}

// MARK: - Building one

/// Builds the deferred table at `index` in place (nothing when it is not one). May raise (memory, the method).
static void build(lua_State *L, int index) {
    index = lua_absindex(L, index);
    luaL_checkstack(L, 12, "building a deferred table");
    int top = lua_gettop(L);
    const uiq_deferred_header *header = push_description(L, index);  // top+1
    if (header == NULL) return;
    int description = top + 1;
    int results = header->result_count, wanted = header->result_index;
    if (results < 1 || results > UIQ_MAX_RESULTS || wanted < 0 || wanted >= results) {
        luaL_error(L, "deferred table: malformed description");
    }
    luaL_checkstack(L, results + 4, "building a deferred table");
    lua_getiuservalue(L, description, 1);     // top+2: the receiver
    if (!lua_getmetatable(L, -1) || lua_getfield(L, -1, "__index") != LUA_TTABLE
        || lua_getfield(L, -1, header->method) != LUA_TFUNCTION) {
        luaL_error(L, "deferred table: the method '%s' is gone", header->method);
    }
    lua_pushvalue(L, top + 2);
    lua_getiuservalue(L, description, 2);     // the text
    uiq_host *host = uiq_host_of(L);
    host->building_tables += 1;
    int status = lua_pcall(L, 2, results, 0);
    host->building_tables -= 1;
    if (status != LUA_OK) lua_error(L);
    int built = lua_gettop(L) - results + 1 + wanted;
    if (lua_type(L, built) != LUA_TTABLE || uiq_deferred_header_at(L, built) != NULL) {
        luaL_error(L, "deferred table: '%s' did not build a table", header->method);
    }
    // The rules' own keys stay; the built table's fill in the rest.
    lua_pushnil(L);
    while (lua_next(L, built) != 0) {
        lua_pushvalue(L, -2);
        if (lua_rawget(L, index) == LUA_TNIL) {
            lua_pop(L, 1);
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, index);
        } else {
            lua_pop(L, 2);
        }
    }
    lua_pushnil(L);
    lua_setmetatable(L, index);
    lua_settop(L, top);
}

static int build_k(lua_State *L) {
    build(L, 1);
    return 0;
}

/// Runs `body` on the value at `index` in a protected call. Status.
static int protected_on(lua_State *L, int index, lua_CFunction body) {
    if (!lua_checkstack(L, 3)) return LUA_ERRMEM;
    index = lua_absindex(L, index);
    lua_pushcfunction(L, body);
    lua_pushvalue(L, index);
    int status = lua_pcall(L, 1, 0, 0);
    if (status != LUA_OK) lua_pop(L, 1);
    return status;
}

int uiq_deferred_build(lua_State *L, int index) { return protected_on(L, index, build_k); }

/// Builds the deferred tables in the value at `index` and below, as deep as the JSON writer reads, for at most
/// `steps` table entries in all (what is left is built when read).
static void build_all(lua_State *L, int index, int depth, int *steps) {
    if (lua_type(L, index) != LUA_TTABLE || depth > UIQ_JSON_MAX_DEPTH || *steps <= 0) return;
    luaL_checkstack(L, 4, "building deferred tables");
    build(L, index);
    lua_pushnil(L);
    while (*steps > 0 && lua_next(L, index) != 0) {
        *steps -= 1;
        build_all(L, lua_gettop(L), depth + 1, steps);
        lua_pop(L, 1);
    }
    if (*steps <= 0) lua_settop(L, index);  // stopped early: the key left by next goes too
}

static int build_all_k(lua_State *L) {
    int steps = 100000;
    build_all(L, 1, 0, &steps);
    return 0;
}

int uiq_deferred_build_all(lua_State *L, int index) { return protected_on(L, index, build_all_k); }

// MARK: - The metatable

/// Whether `key` (at `index`) is one of the members the description holds.
static int is_member_key(const uiq_deferred_header *header, lua_State *L, int index) {
    if (lua_type(L, index) != LUA_TSTRING) return 0;
    size_t length;
    const char *key = lua_tolstring(L, index, &length);
    const uint64_t *offsets = uiq_deferred_offsets(header);
    const char *text = uiq_deferred_text(header);
    for (uint32_t i = 0; i < header->member_count; i++) {
        uint64_t start = offsets[3 * i] + 1, end = offsets[3 * i + 1] - 1;
        if (end - start == length && memcmp(text + start, key, length) == 0) return 1;
    }
    return 0;
}

static int meta_index(lua_State *L) {
    build(L, 1);
    lua_settop(L, 2);
    lua_rawget(L, 1);
    return 1;
}

static int meta_newindex(lua_State *L) {
    // An invalid key is refused as Lua refuses it, naming the line of the assignment.
    if (lua_isnil(L, 2)) return luaL_error(L, "table index is nil");
    if (lua_type(L, 2) == LUA_TNUMBER && !lua_isinteger(L, 2) && lua_tonumber(L, 2) != lua_tonumber(L, 2)) {
        return luaL_error(L, "table index is NaN");
    }
    const uiq_deferred_header *header = uiq_deferred_header_at(L, 1);
    if (header != NULL && is_member_key(header, L, 2)) build(L, 1);  // a key of its own: build it, then set
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 0;
}

static int meta_len(lua_State *L) {
    build(L, 1);
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
    return 1;
}

static int built_next(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    build(L, 1);
    lua_settop(L, 2);
    if (lua_next(L, 1)) return 2;
    lua_pushnil(L);
    return 1;
}

/// What `pairs` returns for the value at 1: this file's `next`, the value, nil.
static int iteration(lua_State *L) {
    lua_pushcfunction(L, built_next);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int meta_pairs(lua_State *L) {
    build(L, 1);
    return iteration(L);
}

static const luaL_Reg metamethods[] = {
    {"__index", meta_index},
    {"__newindex", meta_newindex},
    {"__len", meta_len},
    {"__pairs", meta_pairs},
    {NULL, NULL},
};

// MARK: - The sandbox's raw functions

static int built_rawget(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    build(L, 1);
    lua_settop(L, 2);
    lua_rawget(L, 1);
    return 1;
}

static int built_rawlen(lua_State *L) {
    int type = lua_type(L, 1);
    luaL_argexpected(L, type == LUA_TTABLE || type == LUA_TSTRING, 1, "table or string");
    build(L, 1);
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
    return 1;
}

static int built_getmetatable(lua_State *L) {
    luaL_checkany(L, 1);
    build(L, 1);
    if (!lua_getmetatable(L, 1)) {
        lua_pushnil(L);
        return 1;
    }
    luaL_getmetafield(L, 1, "__metatable");
    return 1;
}

/// `pairs`: the __pairs metamethod when there is one (a deferred table's builds it), else this file's `next`.
static int built_pairs(lua_State *L) {
    luaL_checkany(L, 1);
    if (luaL_getmetafield(L, 1, "__pairs") != LUA_TNIL) {
        lua_pushvalue(L, 1);
        lua_call(L, 1, 3);
        return 3;
    }
    return iteration(L);
}

static int build_value(lua_State *L) {
    build(L, 1);
    return 0;
}

static const luaL_Reg natives[] = {
    {"next", built_next},
    {"pairs", built_pairs},
    {"rawget", built_rawget},
    {"rawlen", built_rawlen},
    {"getmetatable", built_getmetatable},
    {"build", build_value},
    {NULL, NULL},
};

const luaL_Reg *uiq_deferred_natives(void) { return natives; }
