// CLuaHost: the Lua glue that must stay in C.
//
// Lua reports errors with longjmp, which must never cross a Swift frame. Everything Swift calls here either
// cannot raise a Lua error or runs the raising work inside its own protected call and returns a status.
// Swift host functions never raise: they fill a `uiq_call` with results or an error text, and the C
// trampoline pushes the results or raises the error after Swift has returned.
//
// Files: state.c (allocation cap, instruction budget, running chunks, the evaluator), hostcall.c (host
// functions, methods and objects), regex.c (PCRE2 matching on the scoring hot path), patterns.c (Lua string
// patterns under a step budget), text.c (UTF-8, ASCII, decimal rounding).
#ifndef UIQ_CLUAHOST_H
#define UIQ_CLUAHOST_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <lua.h>
#include <lauxlib.h>

#define UIQ_MAX_RESULTS 8
#define UIQ_MAX_TYPES 16
#define UIQ_ERROR_CAPACITY 1024

/// Releases a host object that a Lua userdata owned (called from the userdata's __gc).
typedef void (*uiq_release_fn)(void *object);

/// Memory shared by many Lua states (all of a server's, or one candidate check's): a cap on their total.
/// Each state reserves from it in chunks as it grows and gives back what it no longer needs, so scoring
/// rarely touches the shared counter.
typedef struct uiq_memory_budget uiq_memory_budget;
uiq_memory_budget *uiq_budget_new(size_t limit);
/// Frees the budget; every state drawing from it must be closed first.
void uiq_budget_free(uiq_memory_budget *budget);
/// Bytes reserved by the states right now.
size_t uiq_budget_used(const uiq_memory_budget *budget);
size_t uiq_budget_limit(const uiq_memory_budget *budget);

/// Per-state bookkeeping: memory cap, instruction budget, what the current evaluation ran into, and the
/// state's own regex match resources.
typedef struct uiq_host {
    size_t memory_used;
    size_t memory_limit;
    long long instruction_budget;
    long long pattern_steps;   /// string-pattern matching steps left in the current run (same budget)
    int budget_exhausted;      /// the budget hook fired (or the pattern steps ran out) during the current run
    char budget_message[256];  /// the first budget error of the run, where it happened; raised again as is
    int memory_refused;        /// an allocation was refused at the cap during the current run
    int budget_refused;        /// ... and it was the shared budget's cap, not the state's own
    uiq_memory_budget *budget; /// the shared budget the state draws from, or NULL
    size_t reserved;           /// bytes this state has reserved from the shared budget
    const char *trusted_text;  /// data of the message text pinned for this evaluation: known valid UTF-8
    size_t trusted_length;
    int trusted_ascii;         /// the pinned text is all ASCII
    uiq_release_fn release;
    void *match_data;          /// pcre2_match_data_8 *
    void *match_context;       /// pcre2_match_context_8 * (match and depth limits, JIT stack)
    void *jit_stack;           /// pcre2_jit_stack_8 *
    void *prefilter_scratch;   /// hs_scratch_t * for regex sets' prefilters (grown to fit each database)
    unsigned long long prefilter_sized_for;  /// the id of the set the scratch was last sized for
    int *candidates;           /// pattern indices a prefilter let through, for one set test
    unsigned *candidate_marks; /// per pattern: the scan that last let it through (one entry per pattern, not per match)
    unsigned scan_number;
    int candidate_capacity;
    void *small_blocks;        /// uiq_block_pool *: where the state's small objects come from (blockpool.c)
    int building_tables;       /// > 0 while a deferred table is being built (deferred.c): host functions build now
} uiq_host;

/// A compiled regular expression as the C hot path sees it (owned by a Swift RegexPattern).
typedef struct uiq_regex {
    void *code;        /// pcre2_code_8 *, compiled with UTF and UCP
    void *ascii_code;  /// pcre2_code_8 * without UTF/UCP, for pure-ASCII subjects; may be NULL
    int jit;
    int ascii_jit;
} uiq_regex;

/// A list of compiled regular expressions tested together (owned by a Swift RegexSet); at most 64.
/// Patterns tested together. With a prefilter (a Hyperscan/Vectorscan database of all the patterns it can judge,
/// compiled in prefilter mode: it may let a text through that a pattern does not match, never the reverse), one
/// pass over the text finds the candidates and only those are confirmed with PCRE2; the patterns it cannot judge
/// (`unfiltered`) are always tried. Without one, every pattern is tried.
typedef struct uiq_regex_set {
    int count;
    const uiq_regex **items;
    void *prefilter;            /// hs_database_t * (UTF-8 and Unicode properties), or NULL
    void *byte_prefilter;       /// hs_database_t * of the patterns that mean the same on bytes (far cheaper to build), or NULL
    const int *unfiltered;      /// ascending pattern indices
    int unfiltered_count;
    int caseless_filtered;      /// some prefiltered pattern is caseless (texts with ſ or K skip the prefilter)
    unsigned long long id;      /// unique per set: a state's scratch is sized for the last set it served
} uiq_regex_set;

/// Compiles a prefilter database of `count` patterns (sources NUL-terminated; Hyperscan flags each), in UTF-8
/// mode with Unicode properties or on bytes. `judged[i]` says whether pattern i goes into it (in: candidates; out:
/// those that compiled). NULL when none compiles.
void *uiq_prefilter_compile(const char *const *sources, const unsigned *flags, int count, int *judged, int utf8);
void uiq_prefilter_free(void *database);
/// Hyperscan's flag values, for Swift.
unsigned uiq_prefilter_flag_caseless(void);
unsigned uiq_prefilter_flag_dotall(void);
unsigned uiq_prefilter_flag_multiline(void);

/// What a Swift host function returns to Lua, one value each.
typedef enum uiq_kind {
    UIQ_NIL = 0, UIQ_BOOLEAN, UIQ_INTEGER, UIQ_NUMBER, UIQ_STRING, UIQ_OBJECT, UIQ_TABLE, UIQ_DEFERRED_TABLE
} uiq_kind;

/// A table a host function returns (UIQ_TABLE) is a short program the trampoline runs once Swift has returned,
/// so the tables are built in C (where Lua may raise) without a Lua API call from Swift. Each op is one byte,
/// its operands follow in native byte order:
enum {
    UIQ_PLAN_TABLE = 'T',    /// int32 array size, int32 record size: push a new table
    UIQ_PLAN_STRING = 'S',   /// uint32 length, the bytes: push a string
    UIQ_PLAN_INTEGER = 'I',  /// int64: push an integer
    UIQ_PLAN_NUMBER = 'N',   /// double: push a float
    UIQ_PLAN_SET = '=',      /// table[key] = value: the table, key and value on top; pops key and value
    UIQ_PLAN_APPEND = '+',   /// table[#table + 1] = value: the table and value on top; pops the value
    /// Only first, once: a pointer, uint32 byte count, uint32 count: the plan's constant strings ([uint32 length,
    /// bytes] each, in memory the receiver owns). Methods keep them as Lua strings with their receiver (its user
    /// value) from the first call on, so names are not hashed into Lua's string table on every call.
    UIQ_PLAN_CONSTANTS = 'k',
    UIQ_PLAN_CONSTANT = 'K', /// uint32 index: push constant `index` (0-based)
};

typedef struct uiq_value {
    int kind;
    int boolean;
    long long integer;
    double number;
    const char *string;   /// UIQ_STRING, UIQ_TABLE (its plan): bytes that stay valid until the trampoline has pushed them
    size_t length;
    void *object;         /// UIQ_OBJECT: a retained host object; the new userdata owns it
    const void *native;   /// UIQ_OBJECT: the object's C view (a uiq_regex, …), or NULL
    int object_type;
} uiq_value;

/// One call of a Swift host function: its state, its context, and its results or error.
///
/// For methods, the trampoline has already checked and extracted the receiver (`self_object`) and the text
/// argument, so the hot path makes no Lua API call from Swift.
typedef struct uiq_call {
    lua_State *L;
    void *context;
    void *self_object;
    const char *text;
    size_t text_length;
    int text_trusted;     /// the text is the pinned message text: known valid UTF-8
    int text_ascii;       /// the text is all ASCII
    int result_count;
    uiq_value results[UIQ_MAX_RESULTS];
    char error[UIQ_ERROR_CAPACITY];  /// NUL-terminated message when the function fails
} uiq_call;

/// A host function: return 0 with results filled in, or 1 with `error` set.
typedef int (*uiq_host_function)(uiq_call *call);

// MARK: Results of a host call (static inline: these are on the scoring hot path)

static inline uiq_value *uiq_call_next(uiq_call *call) {
    if (call->result_count >= UIQ_MAX_RESULTS) return &call->results[UIQ_MAX_RESULTS - 1];
    uiq_value *v = &call->results[call->result_count++];
    v->kind = UIQ_NIL;
    return v;
}
static inline void uiq_return_nil(uiq_call *call) { uiq_call_next(call); }
static inline void uiq_return_boolean(uiq_call *call, int b) {
    uiq_value *v = uiq_call_next(call); v->kind = UIQ_BOOLEAN; v->boolean = b;
}
static inline void uiq_return_integer(uiq_call *call, long long i) {
    uiq_value *v = uiq_call_next(call); v->kind = UIQ_INTEGER; v->integer = i;
}
static inline void uiq_return_number(uiq_call *call, double n) {
    uiq_value *v = uiq_call_next(call); v->kind = UIQ_NUMBER; v->number = n;
}
/// `bytes` must stay valid until the host function has returned and the trampoline has copied them.
static inline void uiq_return_string(uiq_call *call, const char *bytes, size_t length) {
    uiq_value *v = uiq_call_next(call); v->kind = UIQ_STRING; v->string = bytes; v->length = length;
}
/// Returns the table `plan` builds (see UIQ_PLAN_TABLE); the plan's bytes must stay valid as for a string.
static inline void uiq_return_table(uiq_call *call, const char *plan, size_t length) {
    uiq_value *v = uiq_call_next(call); v->kind = UIQ_TABLE; v->string = plan; v->length = length;
}
/// Returns a deferred table (see uiq_deferred_header): `description` is its header, offsets and JSON text, valid as
/// for a string. Only methods return them (the table is built again by calling the method on the same text).
static inline void uiq_return_deferred_table(uiq_call *call, const char *description, size_t length) {
    uiq_value *v = uiq_call_next(call); v->kind = UIQ_DEFERRED_TABLE; v->string = description; v->length = length;
}
/// Hands a retained host object (and its C view, or NULL) to Lua; a userdata of `type_id` will own it.
static inline void uiq_return_object(uiq_call *call, void *object, const void *native, int type_id) {
    uiq_value *v = uiq_call_next(call);
    v->kind = UIQ_OBJECT; v->object = object; v->native = native; v->object_type = type_id;
}

/// Sets the error text (truncated to fit); the host function then returns 1.
static inline int uiq_call_fail(uiq_call *call, const char *message, size_t length) {
    if (length > UIQ_ERROR_CAPACITY - 1) length = UIQ_ERROR_CAPACITY - 1;
    memcpy(call->error, message, length);
    call->error[length] = '\0';
    return 1;
}

// MARK: States (state.c)

/// A new state whose allocations are capped at `memory_limit` bytes (and, with a `budget`, by what is left of
/// it) and whose regex matches are bounded by the PCRE2 match and depth limits; NULL when out of memory.
lua_State *uiq_state_new(size_t memory_limit, uiq_memory_budget *budget, uiq_release_fn release, uint32_t match_limit,
                         uint32_t depth_limit);
void uiq_state_close(lua_State *L);
/// Runs a full garbage collection; returns the bytes the state holds after it, as Lua counts them.
size_t uiq_collect_garbage(lua_State *L);
/// How much of the state's region for small objects has been carved into blocks (blocks freed are reused, so this
/// is the most they held at once, rounded up to their size classes).
size_t uiq_state_pooled_bytes(lua_State *L);
/// Whether Lua's small objects come from a pool in this build (not under AddressSanitizer, which must see each).
int uiq_small_objects_pooled(void);
/// The bookkeeping of a state created by uiq_state_new (kept in the state's extra space).
static inline uiq_host *uiq_host_of(lua_State *L) { return *(uiq_host **)lua_getextraspace(L); }

/// Opens the allowlisted standard libraries (base, string, table, math, utf8, os) into the globals. Status.
int uiq_open_libraries(lua_State *L);

/// Loads a text chunk (binary chunks refused) and calls it with `nargs` arguments under the instruction
/// budget, leaving `nresults` results. Status; on failure the error object is on top of the stack.
int uiq_run_chunk(lua_State *L, const char *source, size_t length, const char *chunk_name, int nargs,
                  int nresults, long long budget);
/// Calls the function below `nargs` arguments on the stack under the budget. Status, as above.
int uiq_call_budgeted(lua_State *L, int nargs, int nresults, long long budget);

/// Compiles `source` as a text chunk named `chunk_name` without running it: LUA_OK, or an error status with
/// the message on the stack.
int uiq_compile(lua_State *L, const char *source, size_t length, const char *chunk_name);

/// Replaces score, ctx and ctx's hidden store (the top three values) by the evaluator closure that calls
/// score(message, ctx) for one message. Status.
int uiq_make_evaluator(lua_State *L);

/// Scores one message with the evaluator registry[evaluator_ref]: sets `explain` and `llm_enabled` in ctx's
/// store, builds message = {text, customer_id}, calls score(message, ctx) under the budget. Leaves two
/// results, or the error object on failure.
int uiq_evaluate(lua_State *L, int evaluator_ref, const char *text, size_t length, long long customer_id,
                 int has_customer, int explain, int llm_enabled, long long budget);

/// registry ref of the value on top (popped), or LUA_NOREF on failure. Never raises.
int uiq_ref_top(lua_State *L);

// MARK: Host functions and objects (hostcall.c)

/// Stores a host function as `modules[module][name]` in the registry table the prelude reads. Status.
int uiq_register_function(lua_State *L, const char *module, const char *name, uiq_host_function fn,
                          void *context);
/// Stores a method `modules[module][name]` whose first argument must be a host object of `type_id` and whose
/// second a string; the trampoline checks both and fills `self_object`, `text`, `text_trusted`, `text_ascii`.
int uiq_register_method(lua_State *L, const char *module, const char *name, uiq_host_function fn,
                        void *context, int type_id);
/// Creates the metatable for host object type `type_id`; its methods are `modules[module]` (__index). Status.
int uiq_define_object_type(lua_State *L, int type_id, const char *type_name, const char *module);
/// The host object behind a userdata of type `type_id` at `index`, or NULL. Never raises.
void *uiq_to_object(lua_State *L, int index, int type_id);
/// Pushes the registry table of host modules (for the prelude to consume). Never raises.
void uiq_push_modules(lua_State *L);

// MARK: Modules written in C (modules.c)

/// Stores the C functions of the NULL-terminated `functions` as `modules[module][name]`; with `type_id` >= 0
/// each gets it as its upvalue (methods of that host object type). Status.
int uiq_register_natives(lua_State *L, const char *module, const luaL_Reg *functions, int type_id);

// MARK: Regular expressions (regex.c)

/// The C methods of regex objects: `test`, `find` (each expects its type id as its upvalue).
const luaL_Reg *uiq_regex_natives(void);
/// The C method of regex sets: `test` (expects its type id as its upvalue).
const luaL_Reg *uiq_regex_set_natives(void);
/// Matches with the state's match resources: the ASCII variant when the subject is ASCII, the JIT entry
/// point when the subject is trusted UTF-8. PCRE2's return code.
int uiq_regex_match(uiq_host *host, const uiq_regex *regex, const char *subject, size_t length, size_t start,
                    int trusted, int ascii);
/// The state's ovector after a successful uiq_regex_match, and its number of pairs.
size_t *uiq_regex_ovector(uiq_host *host, uint32_t *pairs);

// MARK: Lua string patterns with a step budget (patterns.c)

/// `find`, `match`, `gmatch` and `gsub` (Lua 5.4 semantics, bounded by the pattern step budget); the sandbox
/// puts them in place of the string library's.
const luaL_Reg *uiq_pattern_natives(void);

// MARK: Text and numbers (text.c)

/// Python's round(x, digits): the decimal nearest to x's exact binary value, ties to even.
double uiq_round_decimal(double x, int digits);
/// The same by printing x with `digits` decimals and reading it back (what uiq_round_decimal falls back to near
/// a tie; kept apart so that tests can compare the two).
double uiq_round_decimal_by_printing(double x, int digits);
/// `round` (uiq_round_decimal for Lua).
const luaL_Reg *uiq_decimal_natives(void);
/// Whether all `length` bytes are below 0x80.
int uiq_is_ascii(const unsigned char *bytes, size_t length);
/// Whether the bytes are well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
int uiq_is_utf8(const unsigned char *s, size_t n);

// MARK: Tables built only when the rules look at them (deferred.c)

/// A method's table that Lua gets as an empty table standing in for it (a "deferred" table) together with the JSON
/// text the table would be written as (kept in the registry, by the stand-in: the table holds nothing the rules
/// did not put there). The JSON writer writes that text (merged with whatever the rules set on
/// the table since) without the table ever being built; the first time the rules read it, iterate it, take its
/// length or write one of its keys (or call next, rawget, rawlen or getmetatable on it), the method is called
/// again on the same receiver and text with deferring off, and the table it returns fills the stand-in, which
/// becomes an ordinary table. A method may defer only what it builds the same way from the same arguments.
///
/// The description a method returns: this header, then `member_count` × 3 uint64 offsets into the text (start
/// of a member's key literal, end of the key literal, end of its value), then the text: the members' key literals
/// (plain ASCII, nothing escaped) and values back to back, in key order, no colon and no commas, as the object's
/// members would be written. At least one member.
#define UIQ_DEFERRED_MAGIC 0x55495144u  /* "UIQD" */
typedef struct uiq_deferred_header {
    uint32_t magic;
    uint32_t member_count;
    uint32_t value_count;  /// JSON values in the members (each member's value and every value inside it)
    uint32_t depth;        /// at most this many levels of tables below the object itself
    uint64_t text_length;
    char method[64];       /// filled by the trampoline: the method to call again (NUL-terminated)
    int32_t result_index;  /// filled by the trampoline: which of its results the table is (0-based), of how many
    int32_t result_count;
} uiq_deferred_header;
/// Whether host functions may return deferred tables right now (not while one is being built).
static inline int uiq_may_defer(lua_State *L) { return uiq_host_of(L)->building_tables == 0; }
/// Whether the value at `index` is a deferred table not built yet. Never raises.
int uiq_deferred_pending(lua_State *L, int index);
/// Builds the deferred table at `index` (nothing for any other value), in a protected call. Status.
int uiq_deferred_build(lua_State *L, int index);
/// Builds every deferred table inside the value at `index` (down to UIQ_JSON_MAX_DEPTH levels), protected.
int uiq_deferred_build_all(lua_State *L, int index);
/// `next`, `pairs`, `rawget`, `rawlen`, `getmetatable` that build a deferred table first (`pairs` hands out this
/// `next`), and `build(value)` (for the sandbox's own rawset, setmetatable and frozen tables).
const luaL_Reg *uiq_deferred_natives(void);

/// Writing a Lua value as compact JSON text (json.c), as the host's JSON values would write it: lists are tables
/// with keys exactly 1...n, objects have their keys sorted (a later duplicate key winning), an empty table is
/// `[]`, non-finite numbers `null`, other types their name in parentheses; at most UIQ_JSON_MAX_DEPTH levels
/// and `budget` values. Raw access only, so it never raises a Lua error. A key that is not plain ASCII (or
/// that JSON escapes) and text that is not UTF-8 are left to the host (UIQ_JSON_NEEDS_HOST): Swift's string
/// order and U+FFFD replacement are its own.
#define UIQ_JSON_OK 0
#define UIQ_JSON_NEEDS_HOST 1
#define UIQ_JSON_NO_MEMORY 2
#define UIQ_JSON_NEEDS_BUILDING 3  /// a deferred table it cannot write exactly from its text: build them, write again
#define UIQ_JSON_MAX_DEPTH 16
/// Writes a float as the host writes JSON numbers into `buffer` (at most `capacity` bytes); returns the length.
typedef size_t (*uiq_format_double_fn)(double value, char *buffer, size_t capacity);
typedef struct uiq_json_writer uiq_json_writer;
uiq_json_writer *uiq_json_writer_new(uiq_format_double_fn format_double);
void uiq_json_writer_free(uiq_json_writer *writer);
/// Writes the value at `index`; returns one of the UIQ_JSON_ statuses.
int uiq_json_write(uiq_json_writer *writer, lua_State *L, int index, int budget);
/// The text written (valid until the next write).
const char *uiq_json_text(const uiq_json_writer *writer, size_t *length);
/// How many deferred tables the writer has written from their text (not built), over all its writes.
unsigned long long uiq_json_deferred_written(const uiq_json_writer *writer);
/// When the value was an object: its members, three offsets each (start of the key, end of the key, end of
/// the value), in key order.
const size_t *uiq_json_top_members(const uiq_json_writer *writer, size_t *count);

#endif
