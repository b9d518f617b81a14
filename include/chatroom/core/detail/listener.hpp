#pragma once

#include <chatroom/core/detail/hub.hpp>
#include <chatroom/core/detail/optional_mutex.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/transport.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <algorithm>
#include <optional>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#if defined(ASIO_HAS_LOCAL_SOCKETS)
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace chatroom::detail {

class listener_base {
public:
    virtual ~listener_base() = default;
    // Stops accepting (and removes a Unix socket's file). Any thread.
    virtual void close() = 0;
};

// One endpoint a server accepts on. Factory (a transport's session_factory)
// turns each admitted socket into a running session of the shared hub.
template <class Factory, class Executor>
class listener final : public listener_base, public std::enable_shared_from_this<listener<Factory, Executor>> {
public:
    using protocol_type = typename Factory::protocol_type;
    using traits = stream_transport<protocol_type>;
    using endpoint_type = typename protocol_type::endpoint;
    using acceptor_type = typename protocol_type::acceptor::template rebind_executor<Executor>::other;
    // Accepted sockets run on a strand of their own when several threads run
    // the server, on the executor itself when one does (session.hpp).
    using socket_type = typename protocol_type::socket::template rebind_executor<asio::any_io_executor>::other;

    listener(const Executor& ex, std::shared_ptr<hub> h, Factory factory)
        : executor_(ex), hub_(std::move(h)), factory_(std::move(factory)), mutex_(hub_->locking()),
          acceptor_(ex), backoff_(ex) {}

    void open(const endpoint_type& endpoint, std::error_code& ec) {
        optional_lock g(mutex_);
        ec.clear();
        if constexpr (traits::is_local) {
            if (!prepare_socket_file(endpoint, ec)) return;
        }
        acceptor_.open(endpoint.protocol(), ec);
        if (ec) return;
        if constexpr (traits::is_tcp) {
            acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
            // "::" serves IPv4 and IPv6 where the OS allows it.
            if (endpoint.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(false), ec);
            ec.clear();
        }
        acceptor_.bind(endpoint, ec);
        if (!ec) {
#if defined(ASIO_HAS_LOCAL_SOCKETS)
            if constexpr (traits::is_local) {
                socket_file_ = endpoint.path();
                ::chmod(socket_file_.c_str(), static_cast<mode_t>(hub_->options().unix_socket_mode));
            }
#endif
            acceptor_.listen(asio::socket_base::max_listen_connections, ec);
            if (!ec) acceptor_.non_blocking(true, ec);
        }
        if (ec) {
            std::error_code ignored;
            acceptor_.close(ignored);
        }
    }

    void start() {
        optional_lock g(mutex_);
        accept();
    }

    endpoint_type local_endpoint() const {
        optional_lock g(mutex_);
        std::error_code ec;
        return acceptor_.local_endpoint(ec);
    }

    // Serves a connected socket as if it had been accepted.
    void admit(socket_type socket) {
        std::string address = traits::peer_address(socket);
        if (const std::optional<reply> refusal = hub_->gate().admit(address)) {
            hub_->gate().reject();
            factory_.refuse(socket, *refusal);
            return;
        }
        traits::tune(socket, hub_->options().tcp_keepalive);
        factory_.start(std::move(socket), hub_, std::move(address));
    }

    asio::any_io_executor peer_executor() const {
        if (hub_->locking()) return asio::make_strand(executor_);
        return executor_;
    }

    void close() override {
        optional_lock g(mutex_);
        std::error_code ignored;
        acceptor_.close(ignored);
        backoff_.cancel();
#if defined(ASIO_HAS_LOCAL_SOCKETS)
        if (!socket_file_.empty()) ::unlink(socket_file_.c_str());
        socket_file_.clear();
#endif
    }

private:
    // A socket file left by a crashed server is replaced; one that a live
    // server answers on is an error, never stolen.
    bool prepare_socket_file(const endpoint_type& endpoint, std::error_code& ec) {
#if defined(ASIO_HAS_LOCAL_SOCKETS)
        if constexpr (traits::is_local) {
            struct stat st {};
            const std::string path = endpoint.path();
            if (path.empty() || path[0] == '\0' || ::lstat(path.c_str(), &st) != 0) return true;
            if (!S_ISSOCK(st.st_mode)) {
                ec = asio::error::address_in_use;
                return false;
            }
            typename protocol_type::socket probe(executor_);
            std::error_code probe_ec;
            probe.connect(endpoint, probe_ec);
            if (!probe_ec) {
                ec = asio::error::address_in_use;
                return false;
            }
            ::unlink(path.c_str());
        }
#endif
        (void)endpoint;
        (void)ec;
        return true;
    }

    // Mutex held.
    void accept() {
        acceptor_.async_accept(peer_executor(), [self = this->shared_from_this()](std::error_code ec, socket_type s) {
            self->on_accept(ec, std::move(s));
        });
    }

    void on_accept(std::error_code ec, socket_type socket) {
        optional_lock g(mutex_);
        if (!acceptor_.is_open() || ec == asio::error::operation_aborted) return;
        if (ec) {
            if (!out_of_resources(ec)) {
                accept(); // e.g. the peer gave up before we took it
                return;
            }
            // Out of file descriptors or memory: accepting again at once
            // would spin. Log once per burst and back off, doubling.
            counters::add(hub_->count().accept_errors);
            if (!accept_failing_)
                hub_->report("accept failed: " + ec.message() + "; backing off until descriptors free up");
            accept_failing_ = true;
            delay_ = std::min(delay_ * 2, max_delay);
            backoff_.expires_after(delay_);
            backoff_.async_wait([self = this->shared_from_this()](std::error_code e) {
                if (e) return;
                optional_lock g2(self->mutex_);
                if (self->acceptor_.is_open()) self->accept();
            });
            return;
        }
        if (accept_failing_) hub_->report("accepting again");
        accept_failing_ = false;
        delay_ = min_delay;
        admit(std::move(socket));
        // A burst of connections is taken in one go, so the join notices it
        // causes leave in one flush pass rather than one pass each.
        for (int i = 1; i < accept_batch; ++i) {
            std::error_code e;
            socket_type more = acceptor_.accept(peer_executor(), e);
            if (e) break; // would block, or a failure the next async accept reports
            admit(std::move(more));
        }
        accept();
    }

    static bool out_of_resources(const std::error_code& ec) {
        return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
               ec == asio::error::no_memory || ec == std::errc::too_many_files_open_in_system;
    }

    static constexpr int accept_batch = 64;
    static constexpr std::chrono::milliseconds min_delay{25};
    static constexpr std::chrono::milliseconds max_delay{1000};

    Executor executor_;
    std::shared_ptr<hub> hub_;
    Factory factory_;
    mutable optional_mutex mutex_; // the acceptor, the backoff timer
    acceptor_type acceptor_;
    asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, Executor>
        backoff_;
    std::chrono::milliseconds delay_ = min_delay;
    bool accept_failing_ = false;
    std::string socket_file_;
};

} // namespace chatroom::detail
