#pragma once

// hiredis' reader building redis_reply (reply.hpp) itself, through
// redisReplyObjectFunctions: a reply is read once into the C++ form, with
// no redisReply tree to build, copy and free (that was 43 % of a cluster
// node's instructions, bench/RESULTS.md).
//
// What hiredis 0.14 does with the objects (read.c, async.c):
// - It creates them depth first, a parent before its children, and hands
//   a child its parent's object (task->parent->obj); so a child is appended
//   to its parent's elements only once the sibling before it is complete,
//   and the pointers it holds (the parents on its stack) stay valid.
// - It frees only the root (freeObject): after the reply callback, on a
//   protocol or OOM error, and with the reader.
// - It reads a root itself as a redisReply in two places: a reply nobody
//   waits for (type and str: an error is kept as the context's errstr) and
//   pub/sub pushes (the element tree). So a root starts with a real
//   redisReply header (type, and str for an error or status), and a
//   subscriber hands the reader back to hiredis' own functions (hand_back)
//   for every root after the replies of its earlier commands.
// A length or count is untrusted: an array's count only bounds what is
// reserved ahead; elements are appended as they arrive. An allocation that
// fails is hiredis' OOM error (the connection fails), never an exception
// through C.

#include <chatroom/redis/detail/reply.hpp>

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

namespace chatroom::detail {

// A root as the builder makes it: hiredis may read head as a redisReply.
struct built_reply {
    redisReply head{}; // first, so a pointer to it is a pointer to the whole
    redis_reply value;
};
static_assert(std::is_standard_layout<built_reply>::value, "a root must be read through its redisReply head");

// What a connection's reader carries (its privdata): hiredis' own
// functions, and whether the next root is theirs.
struct reply_reader_state {
    redisReader* reader = nullptr;
    redisReplyObjectFunctions* hiredis = nullptr; // the reader's functions before ours
    bool hand_back = false;
};

class reply_builder {
public:
    // The most elements reserved ahead for an array, whatever count it says.
    static constexpr std::size_t reserve_limit = 1024;

    // Puts the builder in charge of reader (no reply may be under way).
    static void install(redisReader& reader, reply_reader_state& state) noexcept {
        state.reader = &reader;
        state.hiredis = reader.fn;
        state.hand_back = false;
        reader.fn = &functions_;
        reader.privdata = &state;
    }

    // The reply a root object of this builder carries (the void* that
    // hiredis hands the reply callback).
    static redis_reply& value_of(void* root) noexcept { return static_cast<built_reply*>(root)->value; }

    static redisReplyObjectFunctions& functions() noexcept { return functions_; }

private:
    // A new root, or a child appended to its parent; null when out of memory.
    template <class Make>
    static void* create(const redisReadTask* task, Make&& make) noexcept {
        try {
            if (!task->parent) {
                auto root = std::make_unique<built_reply>();
                make(root->value);
                fill_head(*root);
                return &root.release()->head;
            }
            redis_reply& parent = parent_of(*task);
            parent.elements.emplace_back();
            redis_reply& child = parent.elements.back();
            make(child);
            return &child;
        } catch (...) {
            return nullptr; // hiredis: out of memory, the connection fails
        }
    }

    static redis_reply& parent_of(const redisReadTask& task) noexcept {
        void* obj = task.parent->obj;
        return task.parent->parent ? *static_cast<redis_reply*>(obj) : value_of(obj);
    }

    static void fill_head(built_reply& root) noexcept {
        redis_reply& v = root.value;
        redisReply& h = root.head;
        switch (v.type) {
        case redis_reply::kind::nil: h.type = REDIS_REPLY_NIL; break;
        case redis_reply::kind::integer:
            h.type = REDIS_REPLY_INTEGER;
            h.integer = v.integer;
            break;
        case redis_reply::kind::status:
        case redis_reply::kind::error:
        case redis_reply::kind::string:
            h.type = v.type == redis_reply::kind::status  ? REDIS_REPLY_STATUS
                     : v.type == redis_reply::kind::error ? REDIS_REPLY_ERROR
                                                          : REDIS_REPLY_STRING;
            h.str = &v.text[0]; // NUL-terminated; the root never moves
            h.len = v.text.size();
            break;
        case redis_reply::kind::array: h.type = REDIS_REPLY_ARRAY; break; // no elements: hiredis must not walk ours
        }
    }

    // A root of a subscriber: hiredis' own functions from now on.
    static redisReplyObjectFunctions* handed_back(const redisReadTask* task) noexcept {
        if (task->parent) return nullptr;
        auto* state = static_cast<reply_reader_state*>(task->privdata);
        if (!state || !state->hand_back || !state->hiredis) return nullptr;
        state->reader->fn = state->hiredis;
        return state->hiredis;
    }

    static void* create_string(const redisReadTask* task, char* str, std::size_t len) noexcept {
        if (auto* fn = handed_back(task)) return fn->createString(task, str, len);
        return create(task, [&](redis_reply& r) {
            r.type = task->type == REDIS_REPLY_ERROR    ? redis_reply::kind::error
                     : task->type == REDIS_REPLY_STATUS ? redis_reply::kind::status
                                                        : redis_reply::kind::string;
            r.text.assign(str, len);
        });
    }
    static void* create_array(const redisReadTask* task, int count) noexcept {
        if (auto* fn = handed_back(task)) return fn->createArray(task, count);
        return create(task, [&](redis_reply& r) {
            r.type = redis_reply::kind::array;
            r.elements.reserve(std::min<std::size_t>(count > 0 ? static_cast<std::size_t>(count) : 0, reserve_limit));
        });
    }
    static void* create_integer(const redisReadTask* task, long long value) noexcept {
        if (auto* fn = handed_back(task)) return fn->createInteger(task, value);
        return create(task, [&](redis_reply& r) {
            r.type = redis_reply::kind::integer;
            r.integer = value;
        });
    }
    static void* create_nil(const redisReadTask* task) noexcept {
        if (auto* fn = handed_back(task)) return fn->createNil(task);
        return create(task, [](redis_reply& r) { r.type = redis_reply::kind::nil; });
    }
    static void free_object(void* root) noexcept { delete static_cast<built_reply*>(root); }

    static inline redisReplyObjectFunctions functions_ = {&create_string, &create_array, &create_integer, &create_nil,
                                                          &free_object};
};

// A reply that hiredis hands a callback of reader, taken: the builder's,
// or hiredis' own tree once a subscriber handed the reader back.
inline redis_reply take_reply(const redisReader& reader, void* reply) {
    if (reader.fn == &reply_builder::functions()) return std::move(reply_builder::value_of(reply));
    return redis_reply::from_hiredis(*static_cast<const redisReply*>(reply));
}

inline bool built_by_hiredis(const redisReader& reader) noexcept { return reader.fn != &reply_builder::functions(); }

} // namespace chatroom::detail
