// What a room's bans cost a line said in it (include/chatroom/core/detail/
// room_bans.hpp): 100 masks crafted against the matcher ("*a?a?...a?NN!*@*"),
// against a long nick (32 characters) and a long address, and against a
// short one.
//
//   full:   room_bans::matches(nick, address), every mask compared: what
//           each line cost before the answer was kept, and what a line
//           costs now once after the list or the member's nick changed;
//   cached: room_bans::matches(seen, nick, address), the answer kept in
//           the member's seat: what each line costs now.
//
// Usage: chatroom-ban-bench [LINES [long|short [longest|fitted]]]   (default
// 20000 lines per figure, both members, both sets of masks)
// Built with CHATROOM_BUILD_BENCH. For a build from before the cache,
// compile with -DBAN_BENCH_FULL_ONLY (only the first figure).
#include <chatroom/core/detail/room_bans.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using clock_type = std::chrono::steady_clock;

// "*a?a?...a?NN!*@*": the longest (127 bytes: the worst for the
// backtracking matcher of before), or with as many "a?" as fit the member's
// nick!nick@address (the worst for the matcher now, which refuses at once a
// mask asking more characters than there are).
std::string crafted_mask(int i, std::size_t fit) {
    std::string m = "*";
    for (std::size_t k = 0; k < 60 && 2 * k + 6 <= fit; ++k) m += "a?";
    m += static_cast<char>('0' + i / 10);
    m += static_cast<char>('0' + i % 10);
    return m + "!*@*";
}

template <class F>
double ns_per_line(long lines, F&& line) {
    const auto start = clock_type::now();
    long banned = 0;
    for (long i = 0; i < lines; ++i) banned += line();
    const double ns = std::chrono::duration<double, std::nano>(clock_type::now() - start).count() / lines;
    if (banned != 0) std::printf("(unexpected: %ld lines banned)\n", banned);
    return ns;
}

} // namespace

int main(int argc, char** argv) {
    const long lines = argc > 1 ? std::max(1L, std::atol(argv[1])) : 20000;
    const std::string_view only = argc > 2 ? argv[2] : "", set = argc > 3 ? argv[3] : "";
    std::printf("%ld lines per figure\n", lines);
    struct who {
        const char* label;
        std::string nick, address;
    };
    for (const who& w : {who{"long nick and address", std::string(32, 'a'), "2001:db8:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa"},
                         who{"short nick and address", "alice", "192.0.2.1"}}) {
        if (!only.empty() && std::string_view(w.label).substr(0, only.size()) != only) continue;
        for (const bool fitted : {false, true}) {
            if (!set.empty() && set != (fitted ? "fitted" : "longest")) continue;
            chatroom::detail::room_bans bans;
            const std::size_t fit = fitted ? 2 * w.nick.size() + 2 + w.address.size() : 1000;
            for (int i = 0; i < 100; ++i) bans.add(crafted_mask(i, fit), "op", 0);
            std::printf("%s, %zu masks of %zu bytes:\n", w.label, bans.list().size(), bans.list().front().mask.size());
            const double full = ns_per_line(lines, [&] { return bans.matches(w.nick, w.address); });
            std::printf("  full:   %10.0f ns per line\n", full);
#ifndef BAN_BENCH_FULL_ONLY
            std::uint64_t seen = 0;
            const double cached = ns_per_line(lines, [&] { return bans.matches(seen, w.nick, w.address); });
            std::printf("  cached: %10.1f ns per line\n", cached);
#endif
        }
    }
    return 0;
}
