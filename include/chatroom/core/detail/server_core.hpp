#pragma once

#include <chatroom/core/detail/hub.hpp>
#include <chatroom/core/detail/listener.hpp>
#include <chatroom/core/options.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <asio/strand.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace chatroom::detail {

// Whether a pack begins with a std::error_code (listen_as's overloads).
template <class... A>
struct starts_with_error_code : std::false_type {};
template <class A, class... R>
struct starts_with_error_code<A, R...> : std::is_same<std::decay_t<A>, std::error_code> {};

// What outlives a basic_server object while work is pending: the hub, the
// listeners, the strand of the host's injections, and the end of a stop.
// A stop is over when every connection is gone, no host event is left to
// deliver and the host gate is detached (no host callback runs again); the
// completions of async_stop wait for that.
template <class Executor>
struct server_core : std::enable_shared_from_this<server_core<Executor>> {
    server_core(const Executor& ex, server_options options)
        : executor(ex),
          hub(std::make_shared<detail::hub>(asio::any_io_executor(ex), std::move(options))),
          injections(asio::make_strand(ex)) {
        hub->start();
    }

    void add(std::shared_ptr<listener_base> l) {
        std::lock_guard<std::mutex> g(mutex);
        listeners.push_back(std::move(l));
    }

    // On the executor; idempotent. Stops accepting, begins the hub's
    // graceful shutdown, and watches for its end.
    void shutdown() {
        std::vector<std::shared_ptr<listener_base>> all;
        bool first = false;
        {
            std::lock_guard<std::mutex> g(mutex);
            all.swap(listeners);
            first = !std::exchange(watching, true);
        }
        for (auto& l : all) l->close();
        hub->begin_shutdown();
        if (!first) return;
        // The last connection may go with the hub's lock held: post from there.
        hub->gate().when_empty([self = this->shared_from_this()] {
            asio::post(self->executor, [self] {
                self->hub->when_events_idle([self] { self->hub->host().detach_then([self] { self->stopped(); }); });
            });
        });
    }

    // basic_server::adopt: serves a connected socket through a listener of
    // its own that never listens (ec: the socket is not open).
    template <class Listener, class Socket, class Factory>
    void adopt(Socket& socket, const Factory& factory, std::error_code& ec) {
        ec.clear();
        const auto local = socket.local_endpoint(ec);
        if (ec) return;
        auto l = std::make_shared<Listener>(executor, hub, factory);
        typename Listener::socket_type own(l->peer_executor());
        own.assign(local.protocol(), socket.release(ec), ec);
        if (!ec) l->admit(std::move(own));
    }

    // f runs once the stop is over (now, if it is).
    void when_stopped(std::function<void()> f) {
        {
            std::lock_guard<std::mutex> g(mutex);
            if (!over) return waiters.push_back(std::move(f));
        }
        f();
    }

    Executor executor;
    std::shared_ptr<detail::hub> hub;
    asio::strand<Executor> injections;

private:
    void stopped() {
        std::vector<std::function<void()>> done;
        {
            std::lock_guard<std::mutex> g(mutex);
            over = true;
            done.swap(waiters);
        }
        for (auto& f : done) f();
    }

    std::mutex mutex; // the rest
    std::vector<std::shared_ptr<listener_base>> listeners;
    std::vector<std::function<void()>> waiters;
    bool watching = false;
    bool over = false;
};

// basic_server::async_stop: shutdown(), completing on the handler's
// associated executor (which it keeps from running out of work) once over.
template <class Executor, class CompletionToken>
auto async_stop(const std::shared_ptr<server_core<Executor>>& core, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void()>(
        [core](auto handler) {
            auto work = asio::prefer(asio::get_associated_executor(handler, core->executor),
                                     asio::execution::outstanding_work.tracked);
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            core->when_stopped([h, work] { asio::post(work, [h] { std::move (*h)(); }); });
            asio::post(core->executor, [core] { core->shutdown(); });
        },
        token);
}

// basic_server::async_history: the hub's answer, on the handler's
// associated executor (kept from running out of work meanwhile).
template <class Executor, class CompletionToken>
auto async_history(const std::shared_ptr<server_core<Executor>>& core, history_query q, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::error_code, history_page)>(
        [core](auto handler, history_query q) {
            auto work = asio::prefer(asio::get_associated_executor(handler, core->executor),
                                     asio::execution::outstanding_work.tracked);
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            history_service::ask(*core->hub, std::move(q), [h, work](std::error_code ec, history_page page) {
                asio::post(work, [h, ec, page = std::move(page)]() mutable { std::move(*h)(ec, std::move(page)); });
            });
        },
        token, std::move(q));
}

} // namespace chatroom::detail
