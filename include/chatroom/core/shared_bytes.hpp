#pragma once

#include <atomic>
#include <cstddef>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

namespace chatroom {

/// One immutable block of outgoing bytes (one or more CRLF-terminated lines),
/// shared by every recipient: fan-out copies a pointer, never the text.
/// A single allocation holds the reference count, the size and the bytes.
class shared_bytes {
public:
    shared_bytes() noexcept = default;

    /// A block holding a copy of text.
    static shared_bytes copy_of(std::string_view text) {
        void* raw = ::operator new(sizeof(header) + text.size());
        auto* h = new (raw) header{};
        h->size = text.size();
        if (!text.empty()) std::memcpy(h->bytes(), text.data(), text.size());
        return shared_bytes(h);
    }

    /// A block of size bytes, written once by fill(char*) before anyone shares it.
    template <class Fill>
    static shared_bytes build(std::size_t size, Fill&& fill) {
        void* raw = ::operator new(sizeof(header) + size);
        auto* h = new (raw) header{};
        h->size = size;
        shared_bytes m(h);
        fill(h->bytes());
        return m;
    }

    ///@{
    /// Copies share the block (a reference count, atomic); a moved-from
    /// shared_bytes is empty; the last owner frees the block.
    shared_bytes(const shared_bytes& other) noexcept : h_(other.h_) {
        if (h_) h_->refs.fetch_add(1, std::memory_order_relaxed);
    }
    shared_bytes(shared_bytes&& other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
    shared_bytes& operator=(shared_bytes other) noexcept {
        std::swap(h_, other.h_);
        return *this;
    }
    ~shared_bytes() { release(); }
    ///@}

    /// The bytes; empty for an empty shared_bytes.
    std::string_view view() const noexcept {
        return h_ ? std::string_view(h_->bytes(), h_->size) : std::string_view();
    }
    const char* data() const noexcept { return h_ ? h_->bytes() : nullptr; } ///< the bytes; nullptr when no block
    std::size_t size() const noexcept { return h_ ? h_->size : 0; }          ///< the number of bytes
    bool empty() const noexcept { return size() == 0; }                     ///< no bytes
    explicit operator bool() const noexcept { return h_ != nullptr; }        ///< whether it holds a block

private:
    struct header {
        std::atomic<std::size_t> refs{1};
        std::size_t size = 0;
        char* bytes() noexcept { return reinterpret_cast<char*>(this + 1); }
    };

    explicit shared_bytes(header* h) noexcept : h_(h) {}

    void release() noexcept {
        if (h_ && h_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            h_->~header();
            ::operator delete(h_);
        }
        h_ = nullptr;
    }

    header* h_ = nullptr;
};

/// The 2.x name of shared_bytes (it named a block of bytes, not a chat message:
/// that is server_event_kind::message). Goes away in 3.1.
using message [[deprecated("chatroom 3.0 renamed chatroom::message to chatroom::shared_bytes")]] = shared_bytes;

} // namespace chatroom
