#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string_view>
#include <type_traits>

// What the strict reader (reader.hpp) gives: a flat object as a fixed table
// of fields whose keys and values are views. A string without escapes is a
// view into the input (no copy); one with escapes is decoded into the
// object's store, one buffer the size of the input, taken on the first
// escape (a decoded string is never longer than its JSON text, so the store
// never grows and its views stay put). Nothing here allocates per field.
// The views live as long as the input and the object (moving the object
// keeps them; it cannot be copied).

namespace chatroom::detail::json {

// What a field holds. Numbers are kept as their literal text (the caller
// reads the few it wants with as_count()).
enum class value_kind : unsigned char { string, number, boolean, null };

struct value {
    value_kind kind = value_kind::null;
    std::string_view text; // string: decoded (UTF-8); number: the literal
    bool flag = false;     // boolean

    // A number that is a whole count 0..2^53 written without fraction or
    // exponent; false for anything else.
    bool as_count(std::uint64_t& out) const noexcept {
        if (kind != value_kind::number || text.empty() || text.size() > 16 || text[0] == '-') return false;
        std::uint64_t v = 0;
        for (const char c : text) {
            if (c < '0' || c > '9') return false;
            v = v * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (v > (std::uint64_t{1} << 53)) return false;
        out = v;
        return true;
    }
};

struct field {
    std::string_view key;
    value val;
};

// Whether a and b hold the same bytes (inlined: the keys compared are short).
inline bool same(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// The most fields an object can hold (limits::max_fields is capped to it).
inline constexpr std::size_t max_fields_capacity = 32;

// The fields in the order they came: a fixed table, no allocation. Its
// slots are raw storage, so an empty table costs nothing to make.
class field_table {
public:
    field_table() noexcept {} // NOLINT: the slots stay raw until add()
    field_table(const field_table& o) noexcept { copy(o); }
    field_table& operator=(const field_table& o) noexcept {
        if (this != &o) copy(o);
        return *this;
    }

    std::size_t size() const noexcept { return n_; }
    bool empty() const noexcept { return n_ == 0; }
    const field& operator[](std::size_t i) const noexcept { return begin()[i]; }
    const field* begin() const noexcept { return std::launder(reinterpret_cast<const field*>(raw_)); }
    const field* end() const noexcept { return begin() + n_; }

    void clear() noexcept { n_ = 0; }
    // The caller checks size() < max_fields_capacity first.
    void add(const field& f) noexcept { ::new (static_cast<void*>(raw_ + n_++ * sizeof(field))) field(f); }

private:
    static_assert(std::is_trivially_copyable_v<field> && std::is_trivially_destructible_v<field>);
    void copy(const field_table& o) noexcept {
        n_ = 0;
        for (const field& f : o) add(f);
    }

    alignas(field) unsigned char raw_[sizeof(field) * max_fields_capacity];
    std::size_t n_ = 0;
};

// Room for the decoded strings of one input: taken once, never grown.
class text_store {
public:
    // Room for n bytes in all (kept if already that large); clears.
    void reserve(std::size_t n) {
        if (n > cap_) {
            buf_ = std::make_unique<char[]>(n);
            cap_ = n;
        }
        used_ = 0;
    }
    void clear() noexcept { used_ = 0; }
    std::size_t capacity() const noexcept { return cap_; }
    // The next free byte and how many are left.
    char* tail() noexcept { return buf_.get() + used_; }
    std::size_t room() const noexcept { return cap_ - used_; }
    void commit(std::size_t n) noexcept { used_ += n; }

private:
    std::unique_ptr<char[]> buf_;
    std::size_t cap_ = 0;
    std::size_t used_ = 0;
};

// A parsed object: its fields, and the store holding those that had escapes.
struct object {
    field_table fields;
    text_store store;

    const value* find(std::string_view key) const noexcept {
        for (const field& f : fields)
            if (same(f.key, key)) return &f.val;
        return nullptr;
    }
};

// The offset of the first '"', '\\' or control character in [p, end), or
// end - p: eight bytes at a time (a string's common case is a run of plain
// text), the last few one by one.
inline std::size_t plain_run(const char* p, const char* end) noexcept {
    const char* const from = p;
    constexpr std::uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    while (end - p >= 8) {
        std::uint64_t v;
        std::memcpy(&v, p, 8);
        const std::uint64_t quote = v ^ (ones * '"'), slash = v ^ (ones * '\\');
        // A byte below 0x20, or equal to '"' or '\\', sets its high bit; a
        // byte above the first such one may too (a borrow), none below it.
        const std::uint64_t hit = (((v - ones * 0x20) & ~v) | ((quote - ones) & ~quote) | ((slash - ones) & ~slash)) & highs;
        if (hit) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return static_cast<std::size_t>(p - from) + static_cast<std::size_t>(__builtin_ctzll(hit) / 8);
#else
            break;
#endif
        }
        p += 8;
    }
    while (p < end && *p != '"' && *p != '\\' && static_cast<unsigned char>(*p) >= 0x20) ++p;
    return static_cast<std::size_t>(p - from);
}

} // namespace chatroom::detail::json
