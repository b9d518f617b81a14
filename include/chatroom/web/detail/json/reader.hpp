#pragma once

#include <chatroom/web/detail/json/object.hpp>
#include <chatroom/web/detail/utf8_validator.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

// A strict reader of the one JSON shape the browser dialect receives: a
// single flat object whose values are strings, numbers, booleans or null
// (RFC 8259 grammar, nothing lenient: no comments, no trailing commas, no
// single quotes, no raw control characters in strings, no lone surrogates,
// no invalid UTF-8, no duplicate keys, nothing after the object). Nested
// objects and arrays are refused: the protocol has none, so the depth is one
// and no input can make the reader recurse. It never throws for bad input;
// every refusal names the byte offset and what was wrong. Its cost is linear
// in the input, its output no larger than it: views into the input for the
// strings without escapes, the rest decoded into one buffer (object.hpp).

namespace chatroom::detail::json {

struct limits {
    std::size_t max_fields = max_fields_capacity; // more: refused (capped to the capacity)
    std::size_t max_number_chars = 32;  // a longer number literal: refused
};

// Why read() refused an input: at is the offset of the offending byte.
struct read_error {
    std::size_t at = 0;
    std::string_view what; // a static description; empty: no error
    explicit operator bool() const noexcept { return !what.empty(); }
};

class reader {
public:
    explicit reader(std::string_view in, limits lim = {}) noexcept : in_(in), lim_(lim) {}

    // Parses the whole input as one object into out (cleared first).
    read_error read(object& out) {
        out.fields.clear();
        out.store.clear();
        store_ = &out.store;
        const std::size_t max_fields = lim_.max_fields < max_fields_capacity ? lim_.max_fields : max_fields_capacity;
        utf8_validator utf8;
        if (!utf8.feed(in_.data(), in_.size()) || !utf8.complete()) return fail(0, "not valid UTF-8");
        skip_space();
        if (!eat('{')) return fail(pos_, "expected an object");
        skip_space();
        if (eat('}')) return finish();
        for (;;) {
            skip_space();
            if (peek() != '"') return fail(pos_, "expected a key");
            field f;
            if (auto e = read_string(f.key)) return e;
            for (const field& seen : out.fields)
                if (same(seen.key, f.key)) return fail(pos_, "duplicate key");
            skip_space();
            if (!eat(':')) return fail(pos_, "expected ':'");
            skip_space();
            if (auto e = read_value(f.val)) return e;
            if (out.fields.size() == max_fields) return fail(pos_, "too many fields");
            out.fields.add(f);
            skip_space();
            if (eat(',')) continue;
            if (eat('}')) return finish();
            return fail(pos_, "expected ',' or '}'");
        }
    }

private:
    static read_error fail(std::size_t at, std::string_view what) noexcept { return read_error{at, what}; }

    read_error finish() {
        skip_space();
        if (pos_ != in_.size()) return fail(pos_, "text after the object");
        return {};
    }

    int peek() const noexcept { return pos_ < in_.size() ? static_cast<unsigned char>(in_[pos_]) : -1; }
    bool eat(char c) noexcept {
        if (peek() != static_cast<unsigned char>(c)) return false;
        ++pos_;
        return true;
    }
    void skip_space() noexcept {
        while (pos_ < in_.size() && (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\n' || in_[pos_] == '\r'))
            ++pos_;
    }
    bool literal(std::string_view word) noexcept {
        if (in_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }

    read_error read_value(value& v) {
        const int c = peek();
        if (c == '"') {
            v.kind = value_kind::string;
            return read_string(v.text);
        }
        if (c == '-' || (c >= '0' && c <= '9')) return read_number(v);
        if (literal("true")) {
            v.kind = value_kind::boolean;
            v.flag = true;
            return {};
        }
        if (literal("false")) {
            v.kind = value_kind::boolean;
            return {};
        }
        if (literal("null")) {
            v.kind = value_kind::null;
            return {};
        }
        if (c == '{' || c == '[') return fail(pos_, "nested objects and arrays are not accepted");
        return fail(pos_, "expected a value");
    }

    // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    read_error read_number(value& v) {
        const std::size_t from = pos_;
        auto digits = [&] {
            const std::size_t at = pos_;
            while (peek() >= '0' && peek() <= '9') ++pos_;
            return pos_ > at;
        };
        eat('-');
        if (eat('0')) {
            if (peek() >= '0' && peek() <= '9') return fail(pos_, "a number with a leading zero");
        } else if (!digits()) {
            return fail(pos_, "expected a digit");
        }
        if (eat('.') && !digits()) return fail(pos_, "expected a digit after '.'");
        if (eat('e') || eat('E')) {
            if (!eat('+')) eat('-');
            if (!digits()) return fail(pos_, "expected a digit in the exponent");
        }
        if (pos_ - from > lim_.max_number_chars) return fail(from, "number too long");
        v.kind = value_kind::number;
        v.text = in_.substr(from, pos_ - from);
        return {};
    }

    // Writes cp as UTF-8 at p; returns the end of what it wrote.
    static char* put_utf8(char* p, std::uint32_t cp) noexcept {
        if (cp < 0x80) {
            *p++ = static_cast<char>(cp);
        } else if (cp < 0x800) {
            *p++ = static_cast<char>(0xC0 | (cp >> 6));
            *p++ = static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            *p++ = static_cast<char>(0xE0 | (cp >> 12));
            *p++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            *p++ = static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            *p++ = static_cast<char>(0xF0 | (cp >> 18));
            *p++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            *p++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            *p++ = static_cast<char>(0x80 | (cp & 0x3F));
        }
        return p;
    }

    bool hex4(std::uint32_t& out) noexcept {
        if (in_.size() - pos_ < 4) return false;
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = in_[pos_ + static_cast<std::size_t>(i)];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
            else return false;
        }
        pos_ += 4;
        out = v;
        return true;
    }

    // The plain text from pos_ on: skipped, its length returned.
    std::size_t skip_plain() noexcept {
        const std::size_t n = plain_run(in_.data() + pos_, in_.data() + in_.size());
        pos_ += n;
        return n;
    }

    // At the opening quote; the input is valid UTF-8 (checked up front).
    // Without escapes the string is a view into the input. With them it is
    // decoded into the store, which holds the whole input's worth: what the
    // earlier strings took is less than the text before this one, and a
    // decoded string is never longer than its JSON text.
    read_error read_string(std::string_view& out) {
        const std::size_t start = ++pos_;
        skip_plain();
        if (peek() == '"') {
            out = in_.substr(start, pos_ - start);
            ++pos_;
            return {};
        }
        if (peek() < 0) return fail(pos_, "unterminated string");
        if (peek() != '\\') return fail(pos_, "a control character in a string");
        if (store_->capacity() < in_.size()) store_->reserve(in_.size());
        if (store_->room() < in_.size() - start) return fail(start, "string too long"); // cannot happen (see above)
        char* const begin = store_->tail();
        std::memcpy(begin, in_.data() + start, pos_ - start);
        char* w = begin + (pos_ - start);
        for (;;) {
            const int c = peek();
            if (c == '"') {
                ++pos_;
                const auto n = static_cast<std::size_t>(w - begin);
                store_->commit(n);
                out = std::string_view(begin, n);
                return {};
            }
            if (c < 0) return fail(pos_, "unterminated string");
            if (c != '\\') return fail(pos_, "a control character in a string");
            ++pos_;
            const int e = peek();
            ++pos_;
            switch (e) {
            case '"': *w++ = '"'; break;
            case '\\': *w++ = '\\'; break;
            case '/': *w++ = '/'; break;
            case 'b': *w++ = '\b'; break;
            case 'f': *w++ = '\f'; break;
            case 'n': *w++ = '\n'; break;
            case 'r': *w++ = '\r'; break;
            case 't': *w++ = '\t'; break;
            case 'u': {
                std::uint32_t cp = 0;
                if (!hex4(cp)) return fail(pos_, "expected four hex digits after \\u");
                if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(pos_, "a lone low surrogate");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    std::uint32_t low = 0;
                    if (!literal("\\u") || !hex4(low) || low < 0xDC00 || low > 0xDFFF)
                        return fail(pos_, "a high surrogate without its low half");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                }
                w = put_utf8(w, cp);
                break;
            }
            default: return fail(pos_ - 1, "an unknown escape");
            }
            const std::size_t from = pos_;
            const std::size_t n = skip_plain();
            std::memcpy(w, in_.data() + from, n);
            w += n;
        }
    }

    std::string_view in_;
    limits lim_;
    std::size_t pos_ = 0;
    text_store* store_ = nullptr;
};

// Reads in as one flat object (see the top of this file).
inline read_error read_object(std::string_view in, object& out, limits lim = {}) { return reader(in, lim).read(out); }

} // namespace chatroom::detail::json
