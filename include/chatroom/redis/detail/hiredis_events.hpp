#pragma once

// hiredis' event hooks on Asio: addRead/delRead/addWrite/delWrite become
// async_wait on a posix::stream_descriptor that borrows hiredis' socket, and
// cleanup lets go of it (released, never closed) before hiredis closes the
// socket. The owner (hiredis_context.hpp) is told when the socket is ready
// for what hiredis wants, and when hiredis frees the context; it runs on the
// strand the descriptor was made with. The hooks are idempotent and never
// call back into hiredis.

#include <hiredis/async.h>

#include <asio/error.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include <memory>
#include <system_error>

namespace chatroom::detail {

class hiredis_events {
public:
    // What the owner does on an event, on the strand.
    class owner {
    public:
        virtual void ready(bool write) = 0; // hiredis wants it, and the socket is ready for it
        virtual void failed(std::error_code ec) = 0; // a wait failed
        virtual void cleanup() = 0; // hiredis is freeing the context: the socket is let go
    protected:
        ~owner() = default;
    };

    template <class Executor>
    explicit hiredis_events(const Executor& strand) : descriptor_(strand) {}

    // Borrows ac's socket and installs the hooks; alive says whether the
    // owner still exists when a wait completes.
    std::error_code attach(redisAsyncContext* ac, owner& o, std::weak_ptr<void> alive) {
        std::error_code ec;
        descriptor_.assign(ac->c.fd, ec);
        if (ec) return ec;
        owner_ = &o;
        alive_ = std::move(alive);
        ac->ev.data = this;
        ac->ev.addRead = &add_read;
        ac->ev.delRead = &del_read;
        ac->ev.addWrite = &add_write;
        ac->ev.delWrite = &del_write;
        ac->ev.cleanup = &cleanup;
        return {};
    }

private:
    void start_wait(bool write) {
        (write ? write_waiting_ : read_waiting_) = true;
        descriptor_.async_wait(write ? asio::posix::descriptor_base::wait_write : asio::posix::descriptor_base::wait_read,
                               [this, alive = alive_, write](const std::error_code& ec) {
                                   auto keep = alive.lock();
                                   if (!keep) return;
                                   (write ? write_waiting_ : read_waiting_) = false;
                                   if (released_ || ec == asio::error::operation_aborted) return; // let go at teardown
                                   if (ec) owner_->failed(ec);
                                   else if (write ? want_write_ : want_read_) owner_->ready(write);
                               });
    }

    static void add_read(void* data) noexcept {
        auto* self = static_cast<hiredis_events*>(data);
        self->want_read_ = true;
        if (!self->read_waiting_) self->start_wait(false);
    }
    static void del_read(void* data) noexcept { static_cast<hiredis_events*>(data)->want_read_ = false; }
    static void add_write(void* data) noexcept {
        auto* self = static_cast<hiredis_events*>(data);
        self->want_write_ = true;
        if (!self->write_waiting_) self->start_wait(true);
    }
    static void del_write(void* data) noexcept { static_cast<hiredis_events*>(data)->want_write_ = false; }

    static void cleanup(void* data) noexcept {
        auto* self = static_cast<hiredis_events*>(data);
        self->descriptor_.release();
        self->released_ = true;
        self->owner_->cleanup();
    }

    asio::posix::stream_descriptor descriptor_;
    owner* owner_ = nullptr;
    std::weak_ptr<void> alive_;
    bool want_read_ = false;
    bool want_write_ = false;
    bool read_waiting_ = false;
    bool write_waiting_ = false;
    bool released_ = false;
};

} // namespace chatroom::detail
