// Lua string patterns (string.find, match, gmatch, gsub) with a step budget.
//
// The standard library's matcher backtracks in C, where the instruction-budget hook never fires: a pattern
// such as ".-.-.-x" on a long message would hold a thread for minutes. These versions follow the Lua 5.4
// manual's semantics (§6.4.1) exactly, and count their work: every single-character test, backtrack and
// start position costs a step, and an evaluation that spends its budget of steps fails with a clear error
// like any other runaway rule.
#include "internal.h"

#include <ctype.h>
#include <lauxlib.h>
#include <stdio.h>

#define ESCAPE '%'
#define SPECIALS "^$*+?.([%-"
#define MAX_CAPTURES 32  // as the standard library
#define MAX_DEPTH 200
#define CAPTURE_UNFINISHED (-1)
#define CAPTURE_POSITION (-2)

typedef struct matcher {
    const char *subject;      /// start of the subject
    const char *subject_end;
    const char *pattern_end;
    lua_State *L;
    int depth;                /// recursion left
    int level;                /// captures open or closed so far
    struct {
        const char *start;
        ptrdiff_t length;     /// or CAPTURE_UNFINISHED / CAPTURE_POSITION
    } captures[MAX_CAPTURES];
} matcher;

/// Pays for one unit of matching work; once the run's pattern budget is spent, aborts the run the way the
/// instruction budget does (a pcall in the rule cannot swallow it).
static inline void spend(matcher *m) {
    uiq_host *host = uiq_host_of(m->L);
    if (--host->pattern_steps >= 0) return;
    if (!host->budget_exhausted) {
        // Name the nearest Lua line: the caller may be a C function such as pcall.
        lua_Debug ar;
        const char *where = "?";
        int line = 0;
        for (int level = 1; lua_getstack(m->L, level, &ar); level++) {
            if (lua_getinfo(m->L, "Sl", &ar) && ar.currentline > 0) {
                where = ar.short_src;
                line = ar.currentline;
                break;
            }
        }
        snprintf(host->budget_message, sizeof host->budget_message,
                 "%s:%d: string pattern budget exceeded (%lld steps): simplify the pattern or use re", where, line,
                 host->instruction_budget);
        uiq_abort_run(m->L);
    }
    lua_pushstring(m->L, host->budget_message);
    lua_error(m->L);
}

static void reset(matcher *m) {
    m->level = 0;
    m->depth = MAX_DEPTH;
}

static const char *match(matcher *m, const char *s, const char *p);

/// The end of the single-character class starting at `p`.
static const char *class_end(matcher *m, const char *p) {
    char c = *p++;
    if (c == ESCAPE) {
        if (p >= m->pattern_end) luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c == '[') {
        if (p < m->pattern_end && *p == '^') p++;
        do {  // the first character after '[' or '[^' is literal, even ']'
            if (p >= m->pattern_end) luaL_error(m->L, "malformed pattern (missing ']')");
            char d = *p++;
            if (d == ESCAPE && p < m->pattern_end) p++;
        } while (p >= m->pattern_end || *p != ']');
        return p + 1;
    }
    return p;
}

/// Whether `c` is in the class `%cl` (C locale, as Lua's own matcher).
static int class_contains(int c, int cl) {
    int result;
    switch (tolower(cl)) {
    case 'a': result = isalpha(c); break;
    case 'c': result = iscntrl(c); break;
    case 'd': result = isdigit(c); break;
    case 'g': result = isgraph(c); break;
    case 'l': result = islower(c); break;
    case 'p': result = ispunct(c); break;
    case 's': result = isspace(c); break;
    case 'u': result = isupper(c); break;
    case 'w': result = isalnum(c); break;
    case 'x': result = isxdigit(c); break;
    default: return cl == c;
    }
    if (isupper(cl)) result = !result;
    return result;
}

/// Whether `c` is in the set `[...]` from `p` (on '[') to `end` (on ']').
static int set_contains(int c, const char *p, const char *end) {
    int wanted = 1;
    if (*(p + 1) == '^') {
        wanted = 0;
        p++;
    }
    while (++p < end) {
        if (*p == ESCAPE) {
            p++;
            if (class_contains(c, (unsigned char)*p)) return wanted;
        } else if (*(p + 1) == '-' && p + 2 < end) {
            p += 2;
            if ((unsigned char)*(p - 2) <= c && c <= (unsigned char)*p) return wanted;
        } else if ((unsigned char)*p == c) {
            return wanted;
        }
    }
    return !wanted;
}

static int single_match(matcher *m, const char *s, const char *p, const char *ep) {
    spend(m);
    if (s >= m->subject_end) return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case ESCAPE: return class_contains(c, (unsigned char)*(p + 1));
    case '[': return set_contains(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

static const char *match_balance(matcher *m, const char *s, const char *p) {
    if (p + 1 >= m->pattern_end) luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->subject_end || *s != *p) return NULL;
    char open = *p, close = *(p + 1);
    int depth = 1;
    while (++s < m->subject_end) {
        spend(m);
        if (*s == close) {
            if (--depth == 0) return s + 1;
        } else if (*s == open) {
            depth++;
        }
    }
    return NULL;
}

static const char *max_expand(matcher *m, const char *s, const char *p, const char *ep) {
    ptrdiff_t count = 0;
    while (single_match(m, s + count, p, ep)) count++;
    while (count >= 0) {  // try the longest run first, then give back one at a time
        const char *result = match(m, s + count, ep + 1);
        if (result) return result;
        spend(m);
        count--;
    }
    return NULL;
}

static const char *min_expand(matcher *m, const char *s, const char *p, const char *ep) {
    for (;;) {
        const char *result = match(m, s, ep + 1);
        if (result) return result;
        if (!single_match(m, s, p, ep)) return NULL;
        s++;
    }
}

static const char *start_capture(matcher *m, const char *s, const char *p, ptrdiff_t what) {
    if (m->level >= MAX_CAPTURES) luaL_error(m->L, "too many captures");
    m->captures[m->level].start = s;
    m->captures[m->level].length = what;
    m->level++;
    const char *result = match(m, s, p);
    if (result == NULL) m->level--;
    return result;
}

static const char *end_capture(matcher *m, const char *s, const char *p) {
    int open = -1;
    for (int i = m->level - 1; i >= 0; i--) {
        if (m->captures[i].length == CAPTURE_UNFINISHED) {
            open = i;
            break;
        }
    }
    if (open < 0) luaL_error(m->L, "invalid pattern capture");
    m->captures[open].length = s - m->captures[open].start;
    const char *result = match(m, s, p);
    if (result == NULL) m->captures[open].length = CAPTURE_UNFINISHED;
    return result;
}

static int capture_index(matcher *m, int digit) {
    int index = digit - '1';
    if (index < 0 || index >= m->level || m->captures[index].length == CAPTURE_UNFINISHED) {
        return luaL_error(m->L, "invalid capture index %%%d", index + 1);
    }
    return index;
}

static const char *match_back_reference(matcher *m, const char *s, int digit) {
    int index = capture_index(m, digit);
    ptrdiff_t length = m->captures[index].length;
    if (length < 0) return NULL;  // a position capture never matches text
    if (m->subject_end - s >= length && memcmp(m->captures[index].start, s, (size_t)length) == 0) return s + length;
    return NULL;
}

/// Matches pattern `p` at subject position `s`: the end of the match, or NULL.
static const char *match(matcher *m, const char *s, const char *p) {
    if (m->depth-- == 0) luaL_error(m->L, "pattern too complex");
    spend(m);
    for (;;) {
        if (p >= m->pattern_end) break;
        if (*p == '(') {
            s = (p + 1 < m->pattern_end && *(p + 1) == ')') ? start_capture(m, s, p + 2, CAPTURE_POSITION)
                                                            : start_capture(m, s, p + 1, CAPTURE_UNFINISHED);
            break;
        }
        if (*p == ')') {
            s = end_capture(m, s, p + 1);
            break;
        }
        if (*p == '$' && p + 1 == m->pattern_end) {
            if (s != m->subject_end) s = NULL;
            break;
        }
        if (*p == ESCAPE && p + 1 < m->pattern_end) {
            char next = *(p + 1);
            if (next == 'b') {
                s = match_balance(m, s, p + 2);
                if (s != NULL) {
                    p += 4;
                    continue;
                }
                break;
            }
            if (next == 'f') {
                p += 2;
                if (p >= m->pattern_end || *p != '[') luaL_error(m->L, "missing '[' after '%%f' in pattern");
                const char *ep = class_end(m, p);
                int previous = (s == m->subject) ? 0 : (unsigned char)*(s - 1);
                int current = (s < m->subject_end) ? (unsigned char)*s : 0;
                if (!set_contains(previous, p, ep - 1) && set_contains(current, p, ep - 1)) {
                    p = ep;
                    continue;
                }
                s = NULL;
                break;
            }
            if (isdigit((unsigned char)next)) {
                s = match_back_reference(m, s, (unsigned char)next);
                if (s != NULL) {
                    p += 2;
                    continue;
                }
                break;
            }
        }
        // A single-character class, perhaps followed by a quantifier.
        const char *ep = class_end(m, p);
        char quantifier = ep < m->pattern_end ? *ep : '\0';
        if (!single_match(m, s, p, ep)) {
            if (quantifier == '*' || quantifier == '?' || quantifier == '-') {
                p = ep + 1;  // zero repetitions are fine
                continue;
            }
            s = NULL;
            break;
        }
        if (quantifier == '?') {
            const char *result = match(m, s + 1, ep + 1);
            if (result != NULL) {
                s = result;
                break;
            }
            p = ep + 1;
            continue;
        }
        if (quantifier == '+') {
            s = max_expand(m, s + 1, p, ep);
            break;
        }
        if (quantifier == '*') {
            s = max_expand(m, s, p, ep);
            break;
        }
        if (quantifier == '-') {
            s = min_expand(m, s, p, ep);
            break;
        }
        s++;
        p = ep;
    }
    m->depth++;
    return s;
}

/// Pushes capture `i` (the whole match s..e when the pattern has no captures and i is 0).
static void push_capture(matcher *m, int i, const char *s, const char *e) {
    if (i >= m->level) {
        if (i != 0) luaL_error(m->L, "invalid capture index %%%d", i + 1);
        lua_pushlstring(m->L, s, (size_t)(e - s));
        return;
    }
    ptrdiff_t length = m->captures[i].length;
    if (length == CAPTURE_UNFINISHED) luaL_error(m->L, "unfinished capture");
    if (length == CAPTURE_POSITION) {
        lua_pushinteger(m->L, (lua_Integer)(m->captures[i].start - m->subject) + 1);
    } else {
        lua_pushlstring(m->L, m->captures[i].start, (size_t)length);
    }
}

/// Pushes all captures (or the whole match when there are none and `s` is given); returns how many.
static int push_captures(matcher *m, const char *s, const char *e) {
    int count = (m->level == 0 && s != NULL) ? 1 : m->level;
    luaL_checkstack(m->L, count, "too many captures");
    for (int i = 0; i < count; i++) push_capture(m, i, s, e);
    return count;
}

static void prepare(matcher *m, lua_State *L, const char *s, size_t ls, const char *p, size_t lp) {
    m->L = L;
    m->subject = s;
    m->subject_end = s + ls;
    m->pattern_end = p + lp;
    reset(m);
}

/// Lua 5.4's rule for a start position: negative counts from the end, 0 is 1, beyond the start is 1.
static size_t start_position(lua_Integer position, size_t length) {
    if (position > 0) return (size_t)position;
    if (position == 0) return 1;
    if (position < -(lua_Integer)length) return 1;
    return length + (size_t)position + 1;
}

static int has_specials(const char *p, size_t length) {
    for (size_t i = 0; i < length; i++) {
        if (strchr(SPECIALS, p[i]) != NULL && p[i] != '\0') return 1;
    }
    return 0;
}

/// A plain substring search, paying one step per candidate position.
static const char *plain_find(matcher *m, const char *s, size_t ls, const char *p, size_t lp) {
    if (lp == 0) return s;
    if (lp > ls) return NULL;
    const char *last = s + (ls - lp);
    while (s <= last) {
        const char *candidate = memchr(s, *p, (size_t)(last - s) + 1);
        if (candidate == NULL) return NULL;
        spend(m);
        if (memcmp(candidate + 1, p + 1, lp - 1) == 0) return candidate;
        s = candidate + 1;
    }
    return NULL;
}

static int find_or_match(lua_State *L, int find) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_position(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    matcher m;
    prepare(&m, L, s, ls, p, lp);
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        const char *found = plain_find(&m, s + init, ls - init, p, lp);
        if (found != NULL) {
            lua_pushinteger(L, (lua_Integer)(found - s) + 1);
            lua_pushinteger(L, (lua_Integer)(found - s + lp));
            return 2;
        }
    } else {
        const char *start = s + init;
        int anchored = lp > 0 && *p == '^';
        if (anchored) {
            p++;
            prepare(&m, L, s, ls, p, lp - 1);
        }
        do {
            reset(&m);
            const char *end = match(&m, start, p);
            if (end != NULL) {
                if (find) {
                    lua_pushinteger(L, (lua_Integer)(start - s) + 1);
                    lua_pushinteger(L, (lua_Integer)(end - s));
                    return push_captures(&m, NULL, NULL) + 2;
                }
                return push_captures(&m, start, end);
            }
        } while (start++ < m.subject_end && !anchored);
    }
    luaL_pushfail(L);
    return 1;
}

/// string.find(s, pattern [, init [, plain]])
static int pattern_find(lua_State *L) { return find_or_match(L, 1); }

/// string.match(s, pattern [, init])
static int pattern_match(lua_State *L) { return find_or_match(L, 0); }

typedef struct gmatch_state {
    const char *next;        /// where the next search starts
    const char *last_match;  /// end of the last match, to skip an empty match right after it
    matcher m;
} gmatch_state;

static int gmatch_step(lua_State *L) {
    gmatch_state *g = (gmatch_state *)lua_touserdata(L, lua_upvalueindex(3));
    size_t lp;
    const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
    g->m.L = L;
    for (const char *start = g->next; start <= g->m.subject_end; start++) {
        reset(&g->m);
        const char *end = match(&g->m, start, p);
        if (end != NULL && end != g->last_match) {
            g->next = g->last_match = end;
            return push_captures(&g->m, start, end);
        }
    }
    return 0;
}

/// string.gmatch(s, pattern [, init])
static int pattern_gmatch(lua_State *L) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_position(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) init = ls + 1;  // no match at all
    lua_settop(L, 2);
    gmatch_state *g = (gmatch_state *)lua_newuserdatauv(L, sizeof(gmatch_state), 0);
    prepare(&g->m, L, s, ls, p, lp);
    g->next = s + init;
    g->last_match = NULL;
    lua_pushcclosure(L, gmatch_step, 3);  // upvalues: subject, pattern, state (keeps both alive)
    return 1;
}

/// Appends the replacement string for the match s..e, expanding %0-%9 and %%.
static void add_replacement_string(matcher *m, luaL_Buffer *b, const char *s, const char *e) {
    lua_State *L = m->L;
    size_t length;
    const char *text = lua_tolstring(L, 3, &length);
    const char *escape;
    while ((escape = memchr(text, ESCAPE, length)) != NULL) {
        luaL_addlstring(b, text, (size_t)(escape - text));
        escape++;
        if (*escape == ESCAPE) {
            luaL_addchar(b, *escape);
        } else if (*escape == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit((unsigned char)*escape)) {
            push_capture(m, *escape - '1', s, e);
            luaL_tolstring(L, -1, NULL);
            lua_remove(L, -2);
            luaL_addvalue(b);
        } else {
            luaL_error(L, "invalid use of '%c' in replacement string", ESCAPE);
        }
        length -= (size_t)(escape + 1 - text);
        text = escape + 1;
    }
    luaL_addlstring(b, text, length);
}

static void add_replacement(matcher *m, luaL_Buffer *b, const char *s, const char *e, int kind) {
    lua_State *L = m->L;
    if (kind == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int count = push_captures(m, s, e);
        lua_call(L, count, 1);
    } else if (kind == LUA_TTABLE) {
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        add_replacement_string(m, b, s, e);
        return;
    }
    if (!lua_toboolean(L, -1)) {  // nil or false: keep the original text
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
    } else if (!lua_isstring(L, -1)) {
        luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    } else {
        luaL_addvalue(b);
    }
}

/// string.gsub(s, pattern, replacement [, n])
static int pattern_gsub(lua_State *L) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int kind = lua_type(L, 3);
    lua_Integer limit = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(L, kind == LUA_TNUMBER || kind == LUA_TSTRING || kind == LUA_TFUNCTION || kind == LUA_TTABLE,
                     3, "string/function/table");
    int anchored = lp > 0 && *p == '^';
    if (anchored) {
        p++;
        lp--;
    }
    matcher m;
    prepare(&m, L, s, ls, p, lp);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    const char *cursor = s, *last_match = NULL;
    lua_Integer count = 0;
    while (count < limit) {
        reset(&m);
        const char *end = match(&m, cursor, p);
        if (end != NULL && end != last_match) {
            count++;
            add_replacement(&m, &b, cursor, end, kind);
            cursor = last_match = end;
        } else if (cursor < m.subject_end) {
            luaL_addchar(&b, *cursor++);
        } else {
            break;
        }
        if (anchored) break;
    }
    luaL_addlstring(&b, cursor, (size_t)(m.subject_end - cursor));
    luaL_pushresult(&b);
    lua_pushinteger(L, count);
    return 2;
}

static const luaL_Reg pattern_functions[] = {
    { "find", pattern_find }, { "match", pattern_match }, { "gmatch", pattern_gmatch }, { "gsub", pattern_gsub }, { NULL, NULL },
};

const luaL_Reg *uiq_pattern_natives(void) { return pattern_functions; }
