// Writing the table a rule returned as JSON text, without building Swift values (see uiq_json_write).
#include "internal.h"
#include <stdio.h>
#include <stdlib.h>

/// One member of an object being written: its key literal and value, as offsets of the output.
typedef struct json_member {
    size_t key_start, key_end, value_end;
} json_member;

struct uiq_json_writer {
    char *out;
    size_t length, capacity;
    char *sorted;  // an object's members in key order, before they replace their unsorted text
    size_t sorted_capacity;
    json_member *members;  // a stack: each object's members follow those of the objects it is inside
    size_t member_count, member_capacity;
    size_t *top;  // the top-level object's members: start, key end, end, for each
    size_t top_count, top_capacity;
    uiq_format_double_fn format_double;
    int status;  // UIQ_JSON_OK, or why the host must write this value itself
    unsigned long long deferred_written;  // deferred tables written from their text, ever
};

uiq_json_writer *uiq_json_writer_new(uiq_format_double_fn format_double) {
    uiq_json_writer *w = calloc(1, sizeof *w);
    if (w != NULL) w->format_double = format_double;
    return w;
}

void uiq_json_writer_free(uiq_json_writer *w) {
    if (w == NULL) return;
    free(w->out);
    free(w->sorted);
    free(w->members);
    free(w->top);
    free(w);
}

const char *uiq_json_text(const uiq_json_writer *w, size_t *length) {
    *length = w->length;
    return w->out;
}

unsigned long long uiq_json_deferred_written(const uiq_json_writer *w) { return w->deferred_written; }

const size_t *uiq_json_top_members(const uiq_json_writer *w, size_t *count) {
    *count = w->top_count;
    return w->top;
}

static int grow(char **buffer, size_t *capacity, size_t needed) {
    if (needed <= *capacity) return 1;
    size_t capacity_wanted = *capacity < 512 ? 512 : *capacity;
    while (capacity_wanted < needed) capacity_wanted *= 2;
    char *grown = realloc(*buffer, capacity_wanted);
    if (grown == NULL) return 0;
    *buffer = grown;
    *capacity = capacity_wanted;
    return 1;
}

/// Room for `count` more bytes at the end of the text: where they go, or NULL (the status says why).
static char *room(uiq_json_writer *w, size_t count) {
    if (w->status != UIQ_JSON_OK) return NULL;
    if (!grow(&w->out, &w->capacity, w->length + count)) {
        w->status = UIQ_JSON_NO_MEMORY;
        return NULL;
    }
    char *at = w->out + w->length;
    w->length += count;
    return at;
}

static void put(uiq_json_writer *w, const char *bytes, size_t count) {
    char *at = room(w, count);
    if (at != NULL) memcpy(at, bytes, count);
}

static void put_char(uiq_json_writer *w, char c) { put(w, &c, 1); }

static void put_text(uiq_json_writer *w, const char *text) { put(w, text, strlen(text)); }

static void put_integer(uiq_json_writer *w, lua_Integer value, int quoted) {
    char digits[32];
    int n = snprintf(digits, sizeof digits, quoted ? "\"%lld\"" : "%lld", (long long)value);
    put(w, digits, (size_t)n);
}

static void put_double(uiq_json_writer *w, double value, int quoted) {
    char text[64];
    size_t n = w->format_double(value, text + 1, sizeof text - 2);
    if (quoted) {
        text[0] = '"';
        text[n + 1] = '"';
        put(w, text, n + 2);
    } else {
        put(w, text + 1, n);
    }
}

/// The bytes a string literal holds as they are: printable ASCII (DEL included) but the quote and the backslash.
static const unsigned char plain_byte[256] = {
    ['\x20'] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  // 0x20-0x2F, '"' not
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,               // 0x30-0x3F
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,               // 0x40-0x4F
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,               // 0x50-0x5F, '\\' not
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,               // 0x60-0x6F
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,               // 0x70-0x7F
};

/// How many of the first bytes of `s` are plain (see plain_byte): all `n` for most strings of a breakdown.
static size_t plain_prefix(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && plain_byte[(unsigned char)s[i]]) i++;
    return i;
}

/// A string as a JSON literal: quotes, backslashes and control characters escaped as JSONValue escapes them.
/// Text that is not UTF-8 is left to the host (which writes it with U+FFFD in place of the bad bytes).
static void put_string(uiq_json_writer *w, const char *s, size_t n) {
    if (w->status != UIQ_JSON_OK) return;
    size_t plain = plain_prefix(s, n);
    if (plain == n) {  // most strings: nothing to check or escape, one copy between the quotes
        char *at = room(w, n + 2);
        if (at == NULL) return;
        at[0] = '"';
        memcpy(at + 1, s, n);
        at[n + 1] = '"';
        return;
    }
    if (!uiq_is_utf8((const unsigned char *)s + plain, n - plain)) {
        w->status = UIQ_JSON_NEEDS_HOST;
        return;
    }
    static const char hex[] = "0123456789abcdef";
    put_char(w, '"');
    size_t run = 0;
    for (size_t i = plain; i < n; i++) {  // the plain prefix needs no escape
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        put(w, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': put(w, "\\\"", 2); break;
        case '\\': put(w, "\\\\", 2); break;
        case '\n': put(w, "\\n", 2); break;
        case '\r': put(w, "\\r", 2); break;
        case '\t': put(w, "\\t", 2); break;
        default: {
            char escape[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(w, escape, 6);
        }
        }
    }
    put(w, s + run, n - run);
    put_char(w, '"');
}

static void put_type_name(uiq_json_writer *w, lua_State *L, int index) {
    put_text(w, "\"(");
    put_text(w, lua_typename(L, lua_type(L, index)));
    put_text(w, ")\"");
}

static void write_value(uiq_json_writer *w, lua_State *L, int index, int depth, int *budget);

/// How many keys the table has, counting no further than `limit`.
static int key_count(lua_State *L, int index, int limit) {
    int count = 0;
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
        count += 1;
        if (count >= limit) {
            lua_settop(L, -3);
            return count;
        }
        lua_settop(L, -2);
    }
    return count;
}

/// Compares two keys by their literals' insides (plain ASCII, nothing escaped: the keys' own bytes, in the order
/// Swift gives their strings).
static int compare_keys(const char *out, const json_member *a, const json_member *b) {
    size_t length_a = a->key_end - a->key_start - 2, length_b = b->key_end - b->key_start - 2;
    int c = memcmp(out + a->key_start + 1, out + b->key_start + 1, length_a < length_b ? length_a : length_b);
    if (c != 0) return c;
    return length_a < length_b ? -1 : length_a > length_b ? 1 : 0;
}

/// The text `qsort` compares members in (it has no context argument).
static _Thread_local const char *sorting_text;

/// By key, then in the order `next` gave them (their place in the text).
static int compare_members(const void *a, const void *b) {
    const json_member *x = a, *y = b;
    int c = compare_keys(sorting_text, x, y);
    if (c != 0) return c;
    return x->key_start < y->key_start ? -1 : 1;
}

/// Sorts `count` members by key, keeping of each key the one `next` gave last (as a dictionary assigned in that
/// order keeps); returns how many are kept, in order, at the start of `members`.
static size_t sort_members(const char *out, json_member *members, size_t count) {
    size_t kept = 0;
    if (count <= 16) {  // insertion sort: most objects have a few members
        for (size_t i = 0; i < count; i++) {
            json_member member = members[i];
            size_t position = kept;
            int replaces = 0;
            while (position > 0) {
                int c = compare_keys(out, &members[position - 1], &member);
                if (c < 0) break;
                position -= 1;
                if (c == 0) {
                    replaces = 1;
                    break;
                }
            }
            if (!replaces) {
                memmove(members + position + 1, members + position, (kept - position) * sizeof *members);
                kept += 1;
            }
            members[position] = member;
        }
        return kept;
    }
    sorting_text = out;
    qsort(members, count, sizeof *members, compare_members);
    for (size_t i = 0; i < count; i++) {
        if (i + 1 < count && compare_keys(out, &members[i], &members[i + 1]) == 0) continue;  // a later one follows
        members[kept++] = members[i];
    }
    return kept;
}

/// Adds a member (its key literal and value, written at these offsets) to the object being written.
static void add_member(uiq_json_writer *w, size_t key_start, size_t key_end, size_t value_end) {
    if (w->member_count == w->member_capacity) {
        size_t capacity = w->member_capacity < 64 ? 64 : w->member_capacity * 2;
        json_member *grown = realloc(w->members, capacity * sizeof *grown);
        if (grown == NULL) {
            w->status = UIQ_JSON_NO_MEMORY;
            return;
        }
        w->members = grown;
        w->member_capacity = capacity;
    }
    w->members[w->member_count++] = (json_member){key_start, key_end, value_end};
}

/// Writes the table's entries as members (key literal, then value) in the order `next` gives them; returns
/// whether it has any.
static int write_members(uiq_json_writer *w, lua_State *L, int index, int depth, int *budget) {
    int saw_key = 0;
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
        saw_key = 1;
        if (*budget <= 0 || w->status != UIQ_JSON_OK) {
            lua_settop(L, -2);
            continue;
        }
        size_t key_start = w->length;
        int is_integer = 0;
        lua_Integer integer_key = lua_type(L, -2) == LUA_TNUMBER ? lua_tointegerx(L, -2, &is_integer) : 0;
        if (is_integer) {
            put_integer(w, integer_key, 1);
        } else if (lua_type(L, -2) == LUA_TSTRING) {
            size_t n;
            const char *s = lua_tolstring(L, -2, &n);
            if (plain_prefix(s, n) != n) w->status = UIQ_JSON_NEEDS_HOST;  // sorts otherwise
            put_string(w, s, n);
        } else if (lua_type(L, -2) == LUA_TNUMBER) {
            put_double(w, lua_tonumberx(L, -2, NULL), 1);
        } else {
            put_type_name(w, L, -2);
        }
        size_t key_end = w->length;
        write_value(w, L, -1, depth + 1, budget);
        lua_settop(L, -2);
        if (w->status == UIQ_JSON_OK) add_member(w, key_start, key_end, w->length);
    }
    return saw_key;
}

/// Replaces the members written since `start` (from `first_member` on) by the object: sorted by key, a later
/// duplicate winning, with braces, colons and commas. At the top, records where each member went.
static void finish_object(uiq_json_writer *w, size_t start, size_t first_member, int depth) {
    if (w->status != UIQ_JSON_OK) {
        w->member_count = first_member;
        return;
    }
    json_member *members = w->members + first_member;
    size_t kept = sort_members(w->out, members, w->member_count - first_member);
    // Braces, a colon per member, a comma between two. (None kept: every key was past the value budget.)
    size_t text_length = kept == 0 ? 2 : 2 + kept + (kept - 1);
    for (size_t i = 0; i < kept; i++) text_length += members[i].value_end - members[i].key_start;
    int room = grow(&w->sorted, &w->sorted_capacity, text_length);
    if (room && depth == 0 && w->top_capacity < 3 * kept) {
        size_t *grown = realloc(w->top, 3 * kept * sizeof *grown);
        if (grown != NULL) {
            w->top = grown;
            w->top_capacity = 3 * kept;
        }
        room = grown != NULL;
    }
    if (!room) {
        w->status = UIQ_JSON_NO_MEMORY;
        w->member_count = first_member;
        return;
    }
    char *sorted = w->sorted;
    size_t n = 0;
    sorted[n++] = '{';
    for (size_t i = 0; i < kept; i++) {
        if (i > 0) sorted[n++] = ',';
        size_t member_start = n, key_length = members[i].key_end - members[i].key_start;
        memcpy(sorted + n, w->out + members[i].key_start, key_length);
        n += key_length;
        size_t key_end = n;
        sorted[n++] = ':';
        size_t value_length = members[i].value_end - members[i].key_end;
        memcpy(sorted + n, w->out + members[i].key_end, value_length);
        n += value_length;
        if (depth == 0) {
            w->top[3 * i] = member_start;
            w->top[3 * i + 1] = key_end;
            w->top[3 * i + 2] = n;
        }
    }
    sorted[n++] = '}';
    if (depth == 0) w->top_count = kept;
    w->member_count = first_member;
    w->length = start;
    put(w, sorted, n);
}

/// A deferred table not built yet: the members its method described, then those the rules set on it (which
/// win), as one object: the text the table would give once built. When the description's values would not all
/// fit in the budget or the depth, or the rules' members run past the budget, the writer cannot know what the
/// built table would give: the host builds the deferred tables and writes again.
static void write_deferred(uiq_json_writer *w, lua_State *L, int index, int depth, int *budget,
                           const uiq_deferred_header *header) {
    if (depth + (int)header->depth >= UIQ_JSON_MAX_DEPTH || *budget - (int)header->value_count <= 0) {
        w->status = UIQ_JSON_NEEDS_BUILDING;
        return;
    }
    *budget -= (int)header->value_count;
    w->deferred_written += 1;
    size_t start = w->length, first_member = w->member_count;
    const uint64_t *offsets = uiq_deferred_offsets(header);
    const char *text = uiq_deferred_text(header);
    char *at = room(w, header->text_length);
    if (at == NULL) return;
    memcpy(at, text, header->text_length);
    for (uint32_t i = 0; i < header->member_count && w->status == UIQ_JSON_OK; i++) {
        add_member(w, start + offsets[3 * i], start + offsets[3 * i + 1], start + offsets[3 * i + 2]);
    }
    write_members(w, L, index, depth, budget);
    if (*budget <= 0 && w->status == UIQ_JSON_OK) w->status = UIQ_JSON_NEEDS_BUILDING;
    finish_object(w, start, first_member, depth);
}

static void write_table(uiq_json_writer *w, lua_State *L, int index, int depth, int *budget) {
    const uiq_deferred_header *deferred = uiq_deferred_header_at(L, index);
    if (deferred != NULL) {
        write_deferred(w, L, index, depth, budget, deferred);
        return;
    }
    // A list: keys exactly 1...n (n keys in all, each of 1...n present), read in order by index. A key missing
    // on the way (n keys, but not those) undoes what was written: the table is written as an object.
    lua_Unsigned length = lua_rawlen(L, index);
    size_t start = w->length;
    if (length > 0 && length <= INT32_MAX && (lua_Unsigned)key_count(L, index, *budget > 1 ? *budget : 1) == length) {
        int budget_before = *budget, missing = 0;
        put_char(w, '[');
        // Every key is checked; values are written while the budget lasts (a list past it is still a list).
        for (lua_Unsigned position = 1; position <= length && !missing; position++) {
            missing = lua_rawgeti(L, index, (lua_Integer)position) == LUA_TNIL;
            if (!missing && *budget > 0 && w->status == UIQ_JSON_OK) {
                if (position > 1) put_char(w, ',');
                write_value(w, L, -1, depth + 1, budget);
            }
            lua_settop(L, -2);
        }
        if (!missing) {
            put_char(w, ']');
            return;
        }
        w->length = start;
        *budget = budget_before;
    }
    size_t first_member = w->member_count;
    if (!write_members(w, L, index, depth, budget)) {
        put_text(w, "[]");  // an empty table is most often an empty list
        return;
    }
    finish_object(w, start, first_member, depth);
}

static void write_value(uiq_json_writer *w, lua_State *L, int index, int depth, int *budget) {
    *budget -= 1;
    switch (lua_type(L, index)) {
    case LUA_TNIL:
    case LUA_TNONE: put_text(w, "null"); break;
    case LUA_TBOOLEAN: put_text(w, lua_toboolean(L, index) ? "true" : "false"); break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, index)) put_integer(w, lua_tointegerx(L, index, NULL), 0);
        else put_double(w, lua_tonumberx(L, index, NULL), 0);
        break;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, index, &n);
        put_string(w, s, n);
        break;
    }
    case LUA_TTABLE:
        if (depth >= UIQ_JSON_MAX_DEPTH || *budget <= 0 || !lua_checkstack(L, 3)) {
            put_text(w, "\"(table too deep)\"");
            break;
        }
        write_table(w, L, lua_absindex(L, index), depth, budget);
        break;
    default: put_type_name(w, L, index); break;
    }
}

int uiq_json_write(uiq_json_writer *w, lua_State *L, int index, int budget) {
    w->length = 0;
    w->member_count = 0;
    w->top_count = 0;
    w->status = UIQ_JSON_OK;
    int top = lua_gettop(L);
    write_value(w, L, lua_absindex(L, index), 0, &budget);
    lua_settop(L, top);
    return w->status;
}
