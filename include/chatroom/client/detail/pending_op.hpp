#pragma once

#include <asio/associated_executor.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>

#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

namespace chatroom::detail {

// One pending asynchronous operation of the client: the completion handler
// an asio::async_initiate gave it, erased to its signature void(Args...).
// Until it completes it keeps its executor busy (outstanding work), like
// any Asio operation. complete() posts the handler to its associated
// executor (the client's strand when it has none), never runs it inline,
// so the client's own state is never re-entered by a handler. Move-only,
// as completion handlers are; an empty one completes nothing.
template <class... Args>
class pending_op {
public:
    pending_op() = default;

    template <class Handler, class DefaultExecutor>
    pending_op(Handler&& handler, const DefaultExecutor& fallback)
        : op_(std::make_unique<op<std::decay_t<Handler>, DefaultExecutor>>(std::forward<Handler>(handler), fallback)) {}

    explicit operator bool() const noexcept { return op_ != nullptr; }

    void complete(Args... args) {
        if (!op_) return;
        auto o = std::move(op_);
        o->complete(std::move(args)...);
    }

private:
    struct base {
        virtual ~base() = default;
        virtual void complete(Args... args) = 0;
    };

    template <class Handler, class DefaultExecutor>
    struct op final : base {
        using executor = asio::associated_executor_t<Handler, DefaultExecutor>;
        using work_executor =
            std::decay_t<decltype(asio::prefer(std::declval<executor>(), asio::execution::outstanding_work.tracked))>;

        op(Handler h, const DefaultExecutor& fallback)
            : work(asio::prefer(asio::get_associated_executor(h, fallback), asio::execution::outstanding_work.tracked)),
              handler(std::move(h)) {}

        void complete(Args... args) override {
            asio::post(work, [h = std::move(handler), a = std::make_tuple(std::move(args)...)]() mutable {
                std::apply(std::move(h), std::move(a));
            });
        }

        work_executor work;
        Handler handler;
    };

    std::unique_ptr<base> op_;
};

// The pending_op for a completion signature void(Args...).
template <class Signature>
struct op_for;

template <class... Args>
struct op_for<void(Args...)> {
    using type = pending_op<Args...>;
};

} // namespace chatroom::detail
