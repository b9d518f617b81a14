#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// A small JSON writer for what the browser dialect sends: objects of
// strings, whole numbers, booleans, and arrays of strings or of objects,
// appended to a std::string. Strings are expected to be UTF-8 (the server
// sanitizes what members send); the writer escapes '"', '\\' and every
// control character below U+0020, and U+2028/U+2029 so the output is also
// valid JavaScript. The caller nests begin/end calls correctly; the writer
// only tracks where commas go (up to max_depth levels).

namespace chatroom::detail::json {

class writer {
public:
    static constexpr int max_depth = 8;

    explicit writer(std::string& out) noexcept : out_(out) {}

    writer& begin_object() {
        open('{');
        return *this;
    }
    writer& begin_object(std::string_view key) {
        name(key);
        return begin_object_value();
    }
    writer& end_object() {
        close('}');
        return *this;
    }
    writer& begin_array(std::string_view key) {
        name(key);
        out_ += '[';
        push();
        return *this;
    }
    writer& end_array() {
        close(']');
        return *this;
    }

    // key: "text"
    writer& field(std::string_view key, std::string_view text) {
        name(key);
        quoted(text);
        return *this;
    }
    writer& field(std::string_view key, const char* text) { return field(key, std::string_view(text)); }
    writer& field(std::string_view key, const std::string& text) { return field(key, std::string_view(text)); }
    // key: 42
    writer& field(std::string_view key, std::uint64_t n) {
        name(key);
        out_ += std::to_string(n);
        return *this;
    }
    // key: true
    writer& field(std::string_view key, bool b) {
        name(key);
        out_ += b ? "true" : "false";
        return *this;
    }
    // An element of an array.
    writer& element(std::string_view text) {
        comma();
        quoted(text);
        return *this;
    }
    writer& element_object() {
        comma();
        return begin_object_value();
    }

    // Appends text as a JSON string literal.
    static void quote(std::string& out, std::string_view text) {
        static constexpr char hex[] = "0123456789abcdef";
        out += '"';
        std::size_t from = 0;
        for (std::size_t i = 0; i < text.size(); ++i) {
            const auto c = static_cast<unsigned char>(text[i]);
            const bool line_sep = c == 0xE2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
                                  (static_cast<unsigned char>(text[i + 2]) & 0xFE) == 0xA8;
            if (c >= 0x20 && c != '"' && c != '\\' && !line_sep) continue;
            out.append(text.data() + from, i - from);
            switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case 0xE2:
                out += (static_cast<unsigned char>(text[i + 2]) == 0xA8) ? "\\u2028" : "\\u2029";
                i += 2;
                break;
            default:
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 0xF];
            }
            from = i + 1;
        }
        out.append(text.data() + from, text.size() - from);
        out += '"';
    }

private:
    writer& begin_object_value() {
        out_ += '{';
        push();
        return *this;
    }
    void open(char c) {
        comma();
        out_ += c;
        push();
    }
    void close(char c) {
        out_ += c;
        if (depth_ > 0) --depth_;
    }
    void push() {
        if (depth_ < max_depth) first_[depth_] = true;
        ++depth_;
    }
    // A comma before every value but the first of its object or array.
    void comma() {
        if (depth_ == 0 || depth_ > max_depth) return;
        if (first_[depth_ - 1]) first_[depth_ - 1] = false;
        else out_ += ',';
    }
    void name(std::string_view key) {
        comma();
        quote(out_, key);
        out_ += ':';
    }
    void quoted(std::string_view text) { quote(out_, text); }

    std::string& out_;
    bool first_[max_depth] = {};
    int depth_ = 0;
};

} // namespace chatroom::detail::json
