// Text and number helpers: ASCII checks, Python-compatible decimal rounding.
#include "internal.h"

#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

double uiq_round_decimal_by_printing(double x, int digits) {
    if (!isfinite(x) || digits < 0 || digits > 17) return x;
    char buffer[64];
    snprintf(buffer, sizeof buffer, "%.*f", digits, x);  // correctly rounded, ties to even, like CPython
    return strtod(buffer, NULL);
}

double uiq_round_decimal(double x, int digits) {
    if (!isfinite(x)) return x;
    if (digits >= 1 && fabs(x) < 1e15 && x * 2.0 == floor(x * 2.0)) return x;  // k/2 is exact already
    if (digits < 0 || digits > 17) return x;
    if (fabs(x) >= 4503599627370496.0) return x;  // 2^52 and above: whole numbers already (and too wide to print here)
    // Most values are nowhere near a tie: then x·10^d computed in floating point (off by at most half a unit in
    // its last place, under 2^-13 below 2^40) rounds to the same integer K as the exact product, and K / 10^d,
    // both exact and divided with IEEE rounding, is the double nearest to the decimal, which is what printing
    // and reading back gives. Near a tie (or for huge values) the printing decides.
    static const double powers[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    if (digits <= 15) {
        double scaled = x * powers[digits];
        if (fabs(scaled) < 1099511627776.0) {  // 2^40
            double nearest = nearbyint(scaled);
            if (0.5 - fabs(scaled - nearest) > 0.0009765625) return nearest / powers[digits];  // 2^-10 from a tie
        }
    }
    return uiq_round_decimal_by_printing(x, digits);
}

int uiq_is_ascii(const unsigned char *s, size_t n) {
    size_t i = 0;
    uint64_t high = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t chunk;
        memcpy(&chunk, s + i, 8);
        high |= chunk;
    }
    for (; i < n; i++) high |= s[i];
    return (high & 0x8080808080808080ULL) == 0;
}

/// Whether the bytes are well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
int uiq_is_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i += 1;
        } else if (c >= 0xC2 && c <= 0xDF) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return 0;
            i += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            if (i + 2 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) return 0;
            if (c == 0xE0 && s[i + 1] < 0xA0) return 0;
            if (c == 0xED && s[i + 1] > 0x9F) return 0;
            i += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            if (i + 3 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80)
                return 0;
            if (c == 0xF0 && s[i + 1] < 0x90) return 0;
            if (c == 0xF4 && s[i + 1] > 0x8F) return 0;
            i += 4;
        } else {
            return 0;
        }
    }
    return 1;
}

/// decimal.round(x [, digits]) → Python's round(x, digits) (digits 0..15, default 0).
static int decimal_round(lua_State *L) {
    if (lua_type(L, 1) != LUA_TNUMBER) return luaL_error(L, "bad argument #1 to 'round' (number expected, got %s)", luaL_typename(L, 1));
    lua_Integer digits = 0;
    if (lua_type(L, 2) > LUA_TNIL) {
        int isnum = 0;
        digits = lua_tointegerx(L, 2, &isnum);
        if (!isnum || digits < 0 || digits > 15) return luaL_error(L, "bad argument #2 to 'round' (integer 0..15 expected)");
    }
    lua_pushnumber(L, uiq_round_decimal(lua_tonumber(L, 1), (int)digits));
    return 1;
}

static const luaL_Reg decimal_functions[] = { { "round", decimal_round }, { NULL, NULL } };

const luaL_Reg *uiq_decimal_natives(void) { return decimal_functions; }
