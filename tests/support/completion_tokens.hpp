#pragma once

// The completion tokens the tests try, under the names this Asio gives
// them: deferred is asio::experimental::deferred before Asio 1.24.

#include <asio/use_future.hpp>
#include <asio/version.hpp>
#if ASIO_VERSION >= 102400
#include <asio/deferred.hpp>
#else
#include <asio/experimental/deferred.hpp>
#endif
#if defined(ASIO_HAS_CO_AWAIT)
#include <asio/use_awaitable.hpp>
#endif

namespace test {
namespace {

#if ASIO_VERSION >= 102400
constexpr const auto& deferred = asio::deferred;
#else
constexpr const auto& deferred = asio::experimental::deferred;
#endif

} // namespace
} // namespace test
