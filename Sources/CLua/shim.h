// Lua 5.4 for Swift: the headers, plus `static inline` functions standing in for the API's function-like
// macros and constants, which Swift cannot import. Nothing here raises a Lua error by itself.
#ifndef UIQ_CLUA_SHIM_H
#define UIQ_CLUA_SHIM_H
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

static inline int uiq_lua_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline int uiq_lua_upvalueindex(int i) { return lua_upvalueindex(i); }
static inline int uiq_lua_pcall(lua_State *L, int nargs, int nresults, int msgh) {
    return lua_pcall(L, nargs, nresults, msgh);
}
static inline const char *uiq_lua_tostring(lua_State *L, int idx) { return lua_tostring(L, idx); }
static inline lua_Number uiq_lua_tonumber(lua_State *L, int idx) { return lua_tonumber(L, idx); }
static inline lua_Integer uiq_lua_tointeger(lua_State *L, int idx) { return lua_tointeger(L, idx); }
static inline void uiq_lua_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void uiq_lua_newtable(lua_State *L) { lua_newtable(L); }
static inline void uiq_lua_pushcfunction(lua_State *L, lua_CFunction f) { lua_pushcfunction(L, f); }
static inline void uiq_lua_insert(lua_State *L, int idx) { lua_insert(L, idx); }
static inline void uiq_lua_remove(lua_State *L, int idx) { lua_remove(L, idx); }
static inline int uiq_lua_isnil(lua_State *L, int idx) { return lua_isnil(L, idx); }
static inline int uiq_lua_isnoneornil(lua_State *L, int idx) { return lua_isnoneornil(L, idx); }
static inline int uiq_lua_istable(lua_State *L, int idx) { return lua_istable(L, idx); }
static inline int uiq_lua_isfunction(lua_State *L, int idx) { return lua_isfunction(L, idx); }
static inline int uiq_lua_loadbuffer_text(lua_State *L, const char *buf, size_t len, const char *name) {
    return luaL_loadbufferx(L, buf, len, name, "t");
}
#endif
