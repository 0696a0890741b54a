// The registry table of host modules the prelude reads, and registering C functions into it: one way for
// every module written in C (regex methods, regex set methods, decimal, bounded string patterns).
#include "internal.h"

#include <lauxlib.h>

int uiq_module_table(lua_State *L, const char *module) {
    lua_getfield(L, LUA_REGISTRYINDEX, UIQ_MODULES_KEY);
    if (lua_getfield(L, -1, module) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, module);
    }
    lua_remove(L, -2);
    return lua_gettop(L);
}

typedef struct native_registration {
    const char *module;
    const luaL_Reg *functions;
    int type_id;
} native_registration;

static int register_natives_k(lua_State *L) {
    const native_registration *r = (const native_registration *)lua_touserdata(L, 1);
    int table = uiq_module_table(L, r->module);
    for (const luaL_Reg *entry = r->functions; entry->name != NULL; entry++) {
        if (r->type_id >= 0) {
            lua_pushinteger(L, r->type_id);
            lua_pushcclosure(L, entry->func, 1);
        } else {
            lua_pushcfunction(L, entry->func);
        }
        lua_setfield(L, table, entry->name);
    }
    return 0;
}

int uiq_register_natives(lua_State *L, const char *module, const luaL_Reg *functions, int type_id) {
    native_registration r = { module, functions, type_id };
    lua_pushcfunction(L, register_natives_k);
    lua_pushlightuserdata(L, &r);
    return lua_pcall(L, 1, 0, 0);
}
