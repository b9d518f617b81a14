#pragma once

// chatroom-server's accounts: the users file (--users), its Argon2id hashes
// (libsodium) and the login verifier the server's access hooks call.
//
// The users file has one account a line, `name:hash` or `name:hash:op`;
// blank lines and lines starting with # are ignored. Hashes are what
// `chatroom-server --hash-password` prints (crypto_pwhash_str, Argon2id,
// the INTERACTIVE limits), never a secret in clear.

#include <chatroom.hpp>

#include <asio/post.hpp>
#include <asio/thread_pool.hpp>

#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <deque>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace accounts {

// What --hash-password makes and what a login costs: about 80 ms and 64 MiB
// on a small machine, so guessing is slow and a verifier thread is bounded.
inline constexpr unsigned long long hash_opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
inline constexpr std::size_t hash_memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
inline constexpr std::string_view hash_prefix = "$argon2id$";

// Refusals the verifier gives; the server shows them as "! reason"
// (docs/protocol.md: "! wrong name or secret").
inline constexpr std::string_view wrong_name_or_secret = chatroom::replies::wrong_name_or_secret;
inline constexpr std::string_view server_busy = "server busy, try again";

// libsodium must be initialised once before any other call; safe to repeat.
inline void init_sodium() {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

// A secret held where it can be wiped: a std::string that is moved keeps its
// short-string bytes behind, a vector hands over its buffer.
class secret {
public:
    secret() = default;
    explicit secret(std::string_view text) : bytes_(text.begin(), text.end()) {}
    secret(secret&&) noexcept = default;
    secret& operator=(secret&& other) noexcept {
        wipe();
        bytes_ = std::move(other.bytes_);
        return *this;
    }
    secret(const secret&) = delete;
    secret& operator=(const secret&) = delete;
    ~secret() { wipe(); }

    const char* data() const noexcept { return bytes_.data(); }
    std::size_t size() const noexcept { return bytes_.size(); }

private:
    void wipe() noexcept {
        if (!bytes_.empty()) sodium_memzero(bytes_.data(), bytes_.size());
    }
    std::vector<char> bytes_;
};

// Wipes a string in place (its buffer, not just its length).
inline void wipe(std::string& s) noexcept {
    if (!s.empty()) sodium_memzero(&s[0], s.size());
    s.clear();
}

// The Argon2id string of a secret, as the users file holds it.
inline std::string hash_secret(const char* data, std::size_t size) {
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(out, data, size, hash_opslimit, hash_memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
        throw std::runtime_error("out of memory while hashing");
    return out;
}

// 0: an Argon2id string with the parameters above; 1: one with other
// parameters (valid, but its logins take a different time); -1: not one.
inline int check_hash(std::string_view hash) {
    if (hash.size() >= crypto_pwhash_STRBYTES || hash.substr(0, hash_prefix.size()) != hash_prefix) return -1;
    const std::string s(hash); // NUL-terminated, as libsodium reads it
    return crypto_pwhash_str_needs_rehash(s.c_str(), hash_opslimit, hash_memlimit);
}

struct account {
    std::string name; // as the file spells it
    std::string hash;
    bool op = false;
};

// Accounts by fold_case(name): names are unique case-insensitively, as nicks are.
using table = std::unordered_map<std::string, account>;

struct parse_result {
    table accounts;
    std::vector<std::string> problems; // "line N: ...", each a skipped line
    std::vector<std::string> warnings; // "line N: ...", lines kept
};

// Reads a users file's text. Bad lines are reported and skipped; a report
// never quotes a hash field (it might be a secret typed there by mistake)
// nor a name that is not a valid one.
inline parse_result parse_users(std::string_view text) {
    parse_result r;
    std::unordered_map<std::string, std::size_t> first_line;
    std::size_t number = 0;
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        ++number;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        line = chatroom::protocol::trim(line);
        if (line.empty() || line.front() == '#') continue;

        const std::string at = "line " + std::to_string(number) + ": ";
        std::vector<std::string_view> fields;
        for (;;) {
            const std::size_t colon = line.find(':');
            fields.push_back(chatroom::protocol::trim(line.substr(0, colon)));
            if (colon == std::string_view::npos) break;
            line.remove_prefix(colon + 1);
        }
        if (fields.size() < 2 || fields.size() > 3) {
            r.problems.push_back(at + "expected name:hash or name:hash:op");
            continue;
        }
        const std::string_view name = fields[0], hash = fields[1];
        if (!chatroom::protocol::is_valid_name(name)) {
            r.problems.push_back(at + "bad name (use 1-32 of A-Z a-z 0-9 _ . -)");
            continue;
        }
        if (fields.size() == 3 && fields[2] != "op") {
            r.problems.push_back(at + std::string(name) + ": the third field may only be \"op\"");
            continue;
        }
        const int kind = check_hash(hash);
        if (kind < 0) {
            r.problems.push_back(at + std::string(name) +
                                 ": the hash is not an Argon2id string (make one with --hash-password)");
            continue;
        }
        std::string key = chatroom::protocol::fold_case(name);
        if (auto seen = first_line.find(key); seen != first_line.end()) {
            r.problems.push_back(at + std::string(name) + " is already on line " + std::to_string(seen->second));
            continue;
        }
        if (kind > 0)
            r.warnings.push_back(at + std::string(name) +
                                 ": the hash has other parameters than --hash-password uses, so its logins take "
                                 "a different time");
        first_line.emplace(key, number);
        r.accounts.emplace(std::move(key), account{std::string(name), std::string(hash), fields.size() == 3});
    }
    return r;
}

// A whole small text file; false and why when it cannot be read.
inline bool read_text_file(const std::string& path, std::string& text, std::string& why,
                           std::size_t limit = 1024 * 1024) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        why = "cannot open " + path;
        return false;
    }
    std::ostringstream all;
    all << in.rdbuf();
    if (in.bad()) {
        why = "cannot read " + path;
        return false;
    }
    text = all.str();
    if (text.size() > limit) {
        why = path + " is larger than " + std::to_string(limit) + " bytes";
        return false;
    }
    if (text.find('\0') != std::string::npos) {
        why = path + " is not a text file";
        return false;
    }
    return true;
}

// The users file, read: ok is false (and why says so) when it cannot be
// read, or when it has lines and none of them is an account (most likely the
// wrong file), so a reload keeps the table it has.
struct load_result {
    bool ok = false;
    std::string why;
    parse_result parsed;
};

inline load_result load_users(const std::string& path) {
    load_result r;
    std::string text;
    if (!read_text_file(path, text, r.why)) return r;
    r.parsed = parse_users(text);
    if (r.parsed.accounts.empty() && !r.parsed.problems.empty()) {
        r.why = path + " has no valid account line";
        return r;
    }
    r.ok = true;
    return r;
}

// The accounts in force, shared by the server's threads and the verifier's:
// a reload swaps the whole table, so a reader sees the old one or the new one.
class store {
public:
    std::size_t replace(table accounts) {
        // The old table ends up in next, which goes after the lock is released.
        auto next = std::make_shared<const table>(std::move(accounts));
        std::lock_guard<std::mutex> g(mutex_);
        current_.swap(next);
        return current_->size();
    }

    std::shared_ptr<const table> snapshot() const {
        std::lock_guard<std::mutex> g(mutex_);
        return current_;
    }

    std::size_t size() const { return snapshot()->size(); }

    bool is_registered(std::string_view name) const {
        const std::string key = chatroom::protocol::fold_case(name);
        std::lock_guard<std::mutex> g(mutex_);
        return current_->count(key) != 0;
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const table> current_ = std::make_shared<const table>();
};

// Checks /login secrets against the store on a worker pool of its own: a
// hash takes tens of milliseconds on purpose and must not run on a thread
// that serves connections. At most max_pending checks wait or run, and at
// most max_per_address of them for one address (login_request::address);
// beyond either a login is answered "server busy" at once, so a flood of
// logins costs a bounded queue, not a growing one. Waiting checks are taken
// in turn by address (round robin), so one address's flood delays another
// address's login by at most one check per address waiting, never by the
// flood's length. A name with no account is checked against a dummy hash,
// so the time taken does not tell names apart.
class verifier {
public:
    static unsigned default_threads() {
        // One hash at a time per two cores leaves the rest to the chat.
        return std::thread::hardware_concurrency() > 2 ? 2u : 1u;
    }

    explicit verifier(std::shared_ptr<const store> accounts, unsigned threads = default_threads(),
                      std::size_t max_pending = 64, std::size_t max_per_address = 2)
        : accounts_(std::move(accounts)), max_pending_(std::max<std::size_t>(1, max_pending)),
          max_per_address_(std::max<std::size_t>(1, max_per_address)), pool_(std::clamp(threads, 1u, 2u)) {
        init_sodium();
        // A secret nobody knows, hashed as a real one is.
        unsigned char random[32];
        randombytes_buf(random, sizeof random);
        char hex[2 * sizeof random + 1];
        sodium_bin2hex(hex, sizeof hex, random, sizeof random);
        dummy_hash_ = hash_secret(hex, 2 * sizeof random);
        sodium_memzero(random, sizeof random);
        sodium_memzero(hex, sizeof hex);
    }

    verifier(const verifier&) = delete;
    verifier& operator=(const verifier&) = delete;

    // Checks waiting to start are dropped (their secrets wiped); the one
    // running finishes.
    ~verifier() {
        pool_.stop();
        pool_.join();
    }

    // The access_hooks::verify signature; done runs on a worker thread (or at
    // once, when busy).
    void verify(chatroom::login_request request, std::function<void(chatroom::login_result)> done) {
        job j{std::move(request.name), secret(request.secret), std::move(done)};
        wipe(request.secret);
        bool queued = false;
        {
            std::lock_guard<std::mutex> g(mutex_);
            std::size_t& mine = per_address_[request.address];
            if (pending_.load(std::memory_order_relaxed) < max_pending_ && mine < max_per_address_) {
                ++mine;
                pending_.fetch_add(1, std::memory_order_relaxed);
                auto& queue = waiting_[request.address];
                if (queue.empty()) turns_.push_back(request.address);
                queue.push_back(std::move(j));
                queued = true;
            } else {
                if (mine == 0) per_address_.erase(request.address);
                busy_.fetch_add(1, std::memory_order_relaxed);
            }
        }
        if (!queued) {
            j.key = secret(); // wiped now
            chatroom::login_result busy;
            busy.reason = std::string(server_busy);
            busy.counts_as_failure = false; // says nothing about the secret
            j.done(std::move(busy));
            return;
        }
        // One task per check queued; each runs whichever check's turn it is.
        asio::post(pool_, [this] { run_next(); });
    }

    std::size_t pending() const noexcept { return pending_.load(std::memory_order_relaxed); }
    std::size_t busy_refusals() const noexcept { return busy_.load(std::memory_order_relaxed); }

private:
    struct job {
        std::string name;
        secret key;
        std::function<void(chatroom::login_result)> done;
    };

    void run_next() {
        std::string address;
        job j;
        {
            std::lock_guard<std::mutex> g(mutex_);
            if (turns_.empty()) return;
            address = std::move(turns_.front());
            turns_.pop_front();
            auto it = waiting_.find(address);
            j = std::move(it->second.front());
            it->second.pop_front();
            // The address waits for its next turn behind every other one.
            if (it->second.empty()) waiting_.erase(it);
            else turns_.push_back(address);
        }
        chatroom::login_result result = check(j.name, j.key);
        j.key = secret(); // wiped now, not when the callback is done with
        {
            std::lock_guard<std::mutex> g(mutex_);
            if (auto it = per_address_.find(address); it != per_address_.end() && --it->second == 0)
                per_address_.erase(it);
            pending_.fetch_sub(1, std::memory_order_relaxed);
        }
        j.done(std::move(result));
    }

    chatroom::login_result check(const std::string& name, const secret& key) const {
        const auto accounts = accounts_->snapshot();
        const auto found = chatroom::protocol::is_valid_name(name)
                               ? accounts->find(chatroom::protocol::fold_case(name))
                               : accounts->end();
        const bool known = found != accounts->end();
        const std::string& hash = known ? found->second.hash : dummy_hash_;
        const bool match = crypto_pwhash_str_verify(hash.c_str(), key.data(), key.size()) == 0;
        chatroom::login_result result;
        result.ok = known && match;
        if (result.ok) {
            result.op = found->second.op;
            result.account = found->second.name; // the file's spelling, whatever was typed
        } else {
            result.reason = std::string(wrong_name_or_secret);
        }
        return result;
    }

    std::shared_ptr<const store> accounts_;
    const std::size_t max_pending_;
    const std::size_t max_per_address_;
    std::atomic<std::size_t> pending_{0};
    std::atomic<std::size_t> busy_{0};
    std::string dummy_hash_;
    std::mutex mutex_;
    std::unordered_map<std::string, std::deque<job>> waiting_;     // by address, oldest first
    std::deque<std::string> turns_;                                 // addresses with checks waiting, in turn
    std::unordered_map<std::string, std::size_t> per_address_;     // checks waiting or running, by address
    asio::thread_pool pool_; // last: stopped and joined before the rest goes
};

} // namespace accounts
