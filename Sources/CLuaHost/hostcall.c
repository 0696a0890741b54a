// Host functions, methods and objects: how Swift code becomes callable from Lua without ever raising.
#include "internal.h"

#include <lauxlib.h>
#include <stdio.h>

/// What a registered host function needs at call time, stored as its only upvalue (one lookup per call).
typedef struct binding {
    uiq_host_function fn;
    void *context;
    int type_id;     /// methods: the receiver's object type; -1 for plain functions
    char name[64];   /// for error messages
} binding;

// MARK: - Objects

uiq_object_slot *uiq_object_slot_at(lua_State *L, int index, int type_id) {
    if (lua_type(L, index) != LUA_TUSERDATA) return NULL;
    uiq_object_slot *slot = (uiq_object_slot *)lua_touserdata(L, index);
    if (slot == NULL || lua_rawlen(L, index) != sizeof(uiq_object_slot)) return NULL;
    if (slot->tag != UIQ_OBJECT_TAG || slot->type_id != type_id || slot->object == NULL) return NULL;
    return slot;
}

void *uiq_to_object(lua_State *L, int index, int type_id) {
    uiq_object_slot *slot = uiq_object_slot_at(L, index, type_id);
    return slot ? slot->object : NULL;
}

/// __gc of host-object userdata: hands the object back to Swift exactly once.
static int release_object(lua_State *L) {
    if (lua_type(L, 1) != LUA_TUSERDATA || lua_rawlen(L, 1) != sizeof(uiq_object_slot)) return 0;
    uiq_object_slot *slot = (uiq_object_slot *)lua_touserdata(L, 1);
    if (slot->tag == UIQ_OBJECT_TAG && slot->object != NULL) {
        void *object = slot->object;
        slot->object = NULL;
        slot->native = NULL;
        uiq_host *host = uiq_host_of(L);
        if (host->release) host->release(object);
    }
    return 0;
}

/// Wraps each UIQ_OBJECT result in a userdata of its type, leaving the userdata on the stack in order.
static int adopt_objects_k(lua_State *L) {
    uiq_call *call = (uiq_call *)lua_touserdata(L, 1);
    lua_settop(L, 0);
    lua_getfield(L, LUA_REGISTRYINDEX, UIQ_TYPES_KEY);  // 1
    for (int i = 0; i < call->result_count; i++) {
        uiq_value *v = &call->results[i];
        if (v->kind != UIQ_OBJECT) continue;
        // One user value: where table plans keep their constants (UIQ_PLAN_CONSTANTS).
        uiq_object_slot *slot = (uiq_object_slot *)lua_newuserdatauv(L, sizeof(uiq_object_slot), 1);
        slot->tag = UIQ_OBJECT_TAG;
        slot->type_id = v->object_type;
        slot->object = v->object;
        slot->native = v->native;
        v->object = NULL;  // adopted: the userdata's __gc releases it from now on
        lua_rawgeti(L, 1, v->object_type);
        lua_setmetatable(L, -2);
    }
    return lua_gettop(L) - 1;
}

// MARK: - Tables host functions return

/// Pushes the table of a plan's constant strings ([uint32 length, bytes] each): the one the receiver at stack
/// index 1 keeps as its user value when it was made from the same bytes, else a new one, kept there if it can be.
static void push_plan_constants(lua_State *L, const unsigned char *strings, size_t length, uint32_t count) {
    int receiver = lua_type(L, 1) == LUA_TUSERDATA && lua_rawlen(L, 1) == sizeof(uiq_object_slot)
                   && ((uiq_object_slot *)lua_touserdata(L, 1))->tag == UIQ_OBJECT_TAG;
    if (receiver && lua_getiuservalue(L, 1, 1) == LUA_TTABLE) {
        int same = lua_rawgeti(L, -1, 0) == LUA_TLIGHTUSERDATA && lua_touserdata(L, -1) == (void *)strings;
        lua_pop(L, 1);
        if (same) return;
    }
    if (receiver) lua_pop(L, 1);
    lua_createtable(L, (int)count, 1);
    size_t at = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t size;
        if (length - at < sizeof size) luaL_error(L, "host table: malformed constants");
        memcpy(&size, strings + at, sizeof size);
        at += sizeof size;
        if (length - at < size) luaL_error(L, "host table: malformed constants");
        lua_pushlstring(L, (const char *)strings + at, size);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
        at += size;
    }
    lua_pushlightuserdata(L, (void *)strings);
    lua_rawseti(L, -2, 0);
    if (receiver) {
        lua_pushvalue(L, -1);
        lua_setiuservalue(L, 1, 1);  // pops the copy (and keeps nothing when the userdata has no user value)
    }
}

/// Copies the plan's next `size` bytes (an operand) into `out`; 0 when the plan ends first.
static int take_operand(const unsigned char *plan, size_t length, size_t *at, void *out, size_t size) {
    if (length - *at < size) return 0;
    memcpy(out, plan + *at, size);
    *at += size;
    return 1;
}

/// Runs a table plan (see UIQ_PLAN_TABLE), leaving the one value it builds on the stack. A malformed plan is a
/// bug of the host function that wrote it: raised as an error naming it, never read past its end.
static void push_table_plan(lua_State *L, const unsigned char *plan, size_t length) {
    int base = lua_gettop(L);
    int constants = 0;  // the stack index of the constants' table, once there is one
    uint32_t constant_count = 0;
    size_t at = 0;
#define TAKE(operand) do { if (!take_operand(plan, length, &at, &(operand), sizeof(operand))) goto malformed; } while (0)
    while (at < length) {
        unsigned char op = plan[at++];
        if (!lua_checkstack(L, 2)) luaL_error(L, "host table: too deeply nested");
        switch (op) {
        case UIQ_PLAN_CONSTANTS: {
            const unsigned char *strings;
            uint32_t sizes[2];
            if (constants != 0 || lua_gettop(L) != base) goto malformed;
            TAKE(strings);
            TAKE(sizes);
            push_plan_constants(L, strings, sizes[0], sizes[1]);
            constants = lua_gettop(L);
            constant_count = sizes[1];
            base = constants;
            break;
        }
        case UIQ_PLAN_CONSTANT: {
            uint32_t index;
            TAKE(index);
            if (constants == 0 || index >= constant_count) goto malformed;
            lua_rawgeti(L, constants, (lua_Integer)index + 1);
            break;
        }
        case UIQ_PLAN_TABLE: {
            int32_t sizes[2];
            TAKE(sizes);
            lua_createtable(L, sizes[0] < 0 ? 0 : sizes[0], sizes[1] < 0 ? 0 : sizes[1]);
            break;
        }
        case UIQ_PLAN_STRING: {
            uint32_t count;
            TAKE(count);
            if (length - at < count) goto malformed;
            lua_pushlstring(L, (const char *)plan + at, count);
            at += count;
            break;
        }
        case UIQ_PLAN_INTEGER: {
            int64_t value;
            TAKE(value);
            lua_pushinteger(L, (lua_Integer)value);
            break;
        }
        case UIQ_PLAN_NUMBER: {
            double value;
            TAKE(value);
            lua_pushnumber(L, value);
            break;
        }
        case UIQ_PLAN_SET:
            if (lua_gettop(L) - base < 3 || lua_type(L, -3) != LUA_TTABLE || lua_isnil(L, -2)) goto malformed;
            lua_rawset(L, -3);
            break;
        case UIQ_PLAN_APPEND:
            if (lua_gettop(L) - base < 2 || lua_type(L, -2) != LUA_TTABLE) goto malformed;
            lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
            break;
        default:
            goto malformed;
        }
    }
#undef TAKE
    if (lua_gettop(L) - base == 1) {
        if (constants != 0) lua_remove(L, constants);
        return;
    }
malformed:
    luaL_error(L, "host table: malformed plan (a bug of the host function that returned it)");
}

// MARK: - Calling Swift

/// Calls the Swift host function and turns its results (or error) into Lua values (or a Lua error). Runs in
/// C, so raising here never crosses a Swift frame.
static int call_host(lua_State *L, const binding *b, uiq_call *call) {
    if (b->fn(call) != 0) {
        call->error[UIQ_ERROR_CAPACITY - 1] = '\0';
        return luaL_error(L, "%s", call->error);
    }
    if (call->result_count < 0) call->result_count = 0;
    if (call->result_count > UIQ_MAX_RESULTS) call->result_count = UIQ_MAX_RESULTS;
    int objects = 0;
    for (int i = 0; i < call->result_count; i++) objects += call->results[i].kind == UIQ_OBJECT;
    int base = lua_gettop(L);
    if (objects > 0) {
        lua_pushcfunction(L, adopt_objects_k);
        lua_pushlightuserdata(L, call);
        if (lua_pcall(L, 1, objects, 0) != LUA_OK) {
            uiq_host *host = uiq_host_of(L);
            for (int i = 0; i < call->result_count; i++) {
                if (call->results[i].kind == UIQ_OBJECT && call->results[i].object && host->release)
                    host->release(call->results[i].object);
            }
            return lua_error(L);
        }
    }
    int next_object = base + 1;
    for (int i = 0; i < call->result_count; i++) {
        uiq_value *v = &call->results[i];
        switch (v->kind) {
        case UIQ_BOOLEAN: lua_pushboolean(L, v->boolean); break;
        case UIQ_INTEGER: lua_pushinteger(L, (lua_Integer)v->integer); break;
        case UIQ_NUMBER: lua_pushnumber(L, v->number); break;
        case UIQ_STRING: lua_pushlstring(L, v->string ? v->string : "", v->length); break;
        case UIQ_OBJECT: lua_pushvalue(L, next_object++); break;
        case UIQ_TABLE: push_table_plan(L, (const unsigned char *)v->string, v->string ? v->length : 0); break;
        case UIQ_DEFERRED_TABLE:
            if (call->self_object == NULL) luaL_error(L, "host table: '%s' is not a method: it cannot defer a table", b->name);
            uiq_push_deferred_table(L, v->string, v->string ? v->length : 0, b->name, i, call->result_count);
            break;
        default: lua_pushnil(L); break;
        }
    }
    return call->result_count;
}

static void start_call(lua_State *L, const binding *b, uiq_call *call) {
    call->L = L;
    call->context = b->context;
    call->self_object = NULL;
    call->text = NULL;
    call->text_length = 0;
    call->text_trusted = 0;
    call->text_ascii = 0;
    call->result_count = 0;
    call->error[0] = '\0';
}

/// Entry point of plain host functions.
static int function_trampoline(lua_State *L) {
    const binding *b = (const binding *)lua_touserdata(L, lua_upvalueindex(1));
    uiq_call call;
    start_call(L, b, &call);
    return call_host(L, b, &call);
}

/// Entry point of methods: checks the receiver and the text argument before Swift runs.
static int method_trampoline(lua_State *L) {
    const binding *b = (const binding *)lua_touserdata(L, lua_upvalueindex(1));
    uiq_call call;
    start_call(L, b, &call);
    uiq_object_slot *slot = uiq_object_slot_at(L, 1, b->type_id);
    if (slot == NULL) return luaL_error(L, "bad receiver for '%s' (call it with ':')", b->name);
    call.self_object = slot->object;
    if (lua_type(L, 2) != LUA_TSTRING) {
        return luaL_error(L, "bad argument #1 to '%s' (string expected, got %s)", b->name, luaL_typename(L, 2));
    }
    call.text = lua_tolstring(L, 2, &call.text_length);
    uiq_host *host = uiq_host_of(L);
    call.text_trusted = call.text == host->trusted_text;
    call.text_ascii = call.text_trusted ? host->trusted_ascii
                                        : uiq_is_ascii((const unsigned char *)call.text, call.text_length);
    return call_host(L, b, &call);
}

// MARK: - Registration

typedef struct registration {
    const char *module;
    const char *name;
    uiq_host_function fn;
    void *context;
    int type_id;
    const char *type_name;
} registration;

static int register_k(lua_State *L) {
    registration *r = (registration *)lua_touserdata(L, 1);
    int table = uiq_module_table(L, r->module);
    binding *b = (binding *)lua_newuserdatauv(L, sizeof(binding), 0);
    b->fn = r->fn;
    b->context = r->context;
    b->type_id = r->type_id;
    snprintf(b->name, sizeof b->name, "%s", r->name);
    lua_pushcclosure(L, r->type_id >= 0 ? method_trampoline : function_trampoline, 1);
    lua_setfield(L, table, r->name);
    return 0;
}

static int protected_register(lua_State *L, registration *r) {
    lua_pushcfunction(L, register_k);
    lua_pushlightuserdata(L, r);
    return lua_pcall(L, 1, 0, 0);
}

int uiq_register_function(lua_State *L, const char *module, const char *name, uiq_host_function fn,
                          void *context) {
    registration r = {module, name, fn, context, -1, NULL};
    return protected_register(L, &r);
}

int uiq_register_method(lua_State *L, const char *module, const char *name, uiq_host_function fn,
                        void *context, int type_id) {
    if (type_id < 0 || type_id >= UIQ_MAX_TYPES) return LUA_ERRRUN;
    registration r = {module, name, fn, context, type_id, NULL};
    return protected_register(L, &r);
}

static int define_object_type_k(lua_State *L) {
    registration *r = (registration *)lua_touserdata(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, UIQ_TYPES_KEY);
    int types = lua_gettop(L);
    lua_newtable(L);
    int mt = lua_gettop(L);
    lua_pushstring(L, r->type_name);
    lua_setfield(L, mt, "__name");
    lua_pushstring(L, r->type_name);
    lua_setfield(L, mt, "__metatable");  // getmetatable() answers the name; setmetatable() refuses
    lua_pushcfunction(L, release_object);
    lua_setfield(L, mt, "__gc");
    uiq_module_table(L, r->module);
    lua_setfield(L, mt, "__index");
    lua_rawseti(L, types, r->type_id);
    return 0;
}

int uiq_define_object_type(lua_State *L, int type_id, const char *type_name, const char *module) {
    if (type_id < 0 || type_id >= UIQ_MAX_TYPES) return LUA_ERRRUN;
    registration r = {module, NULL, NULL, NULL, type_id, type_name};
    lua_pushcfunction(L, define_object_type_k);
    lua_pushlightuserdata(L, &r);
    return lua_pcall(L, 1, 0, 0);
}

void uiq_push_modules(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, UIQ_MODULES_KEY);  // exists since uiq_open_libraries: no allocation
}
