// chatroom-server's users file and login verifier (examples/server/accounts.hpp).
#include "accounts.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <future>
#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

namespace {

const std::string& hash_of(const std::string& secret) {
    static std::mutex m;
    static std::unordered_map<std::string, std::string> made;
    std::lock_guard<std::mutex> g(m);
    auto it = made.find(secret);
    if (it == made.end()) it = made.emplace(secret, accounts::hash_secret(secret.data(), secret.size())).first;
    return it->second;
}

chatroom::login_result login(accounts::verifier& v, std::string name, std::string secret) {
    std::promise<chatroom::login_result> answer;
    auto got = answer.get_future();
    v.verify({std::move(name), std::move(secret), "127.0.0.1"},
             [&answer](chatroom::login_result r) { answer.set_value(std::move(r)); });
    REQUIRE(got.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    return got.get();
}

std::string temp_file(const std::string& name, const std::string& text) {
    const std::string path = "/tmp/chatroom-accounts-test-" + std::to_string(::getpid()) + "-" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

} // namespace

TEST_CASE("hashes are salted Argon2id strings with the interactive limits", "[accounts]") {
    accounts::init_sodium();
    const std::string a = accounts::hash_secret("same", 4), b = accounts::hash_secret("same", 4);
    CHECK(a.rfind("$argon2id$v=19$m=65536,t=2,p=1$", 0) == 0);
    CHECK(a != b);
    CHECK(accounts::check_hash(a) == 0);
    CHECK(accounts::check_hash("$argon2id$v=19$broken") < 0);
    CHECK(accounts::check_hash("$argon2i$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g") < 0);
    CHECK(accounts::check_hash("plain text") < 0);
}

TEST_CASE("the users file: accounts, operators, and bad lines by number", "[accounts]") {
    accounts::init_sodium();
    const std::string& ha = hash_of("alice-pw");
    const std::string text = "# comment\n\n  alice:" + ha + ":op\r\nbob:" + ha + "\nbad name:" + ha + "\nALICE:" +
                             ha + "\ncarol:typed-a-secret\ndave:" + ha + ":admin\neve\n:x\nfrank:" + ha + ":op:x\n";
    const auto r = accounts::parse_users(text);
    REQUIRE(r.accounts.size() == 2);
    CHECK(r.accounts.at("alice").op);
    CHECK(r.accounts.at("alice").name == "alice");
    CHECK_FALSE(r.accounts.at("bob").op);
    REQUIRE(r.problems.size() == 7);
    CHECK(r.problems[0] == "line 5: bad name (use 1-32 of A-Z a-z 0-9 _ . -)");
    CHECK(r.problems[1] == "line 6: ALICE is already on line 3");
    CHECK(r.problems[2] == "line 7: carol: the hash is not an Argon2id string (make one with --hash-password)");
    CHECK(r.problems[3] == "line 8: dave: the third field may only be \"op\"");
    CHECK(r.problems[4] == "line 9: expected name:hash or name:hash:op");
    CHECK(r.problems[6] == "line 11: expected name:hash or name:hash:op");
    for (const auto& p : r.problems) {
        CHECK(p.find("typed-a-secret") == std::string::npos); // a hash field is never quoted
        CHECK(p.find("$argon2id$") == std::string::npos);
    }
}

TEST_CASE("loading: unreadable or wholly bad files are refused, empty ones are not", "[accounts]") {
    const auto junk = temp_file("junk", "junk\nmore junk\n");
    const auto l = accounts::load_users(junk);
    CHECK_FALSE(l.ok);
    CHECK(l.why.find("no valid account line") != std::string::npos);
    const auto missing = accounts::load_users("/nonexistent/users");
    CHECK_FALSE(missing.ok);
    CHECK(missing.why.find("cannot open") != std::string::npos);
    const auto empty = temp_file("empty", "# nobody yet\n");
    const auto e = accounts::load_users(empty);
    CHECK(e.ok);
    CHECK(e.parsed.accounts.empty());
    std::remove(junk.c_str());
    std::remove(empty.c_str());
}

TEST_CASE("the verifier: right and wrong secrets, unknown names, reloads", "[accounts]") {
    accounts::init_sodium();
    auto store = std::make_shared<accounts::store>();
    store->replace(accounts::parse_users("alice:" + hash_of("alice-pw") + ":op\nbob:" + hash_of("bob pw") + "\n")
                       .accounts);
    CHECK(store->is_registered("Alice"));
    CHECK(store->is_registered("bob"));
    CHECK_FALSE(store->is_registered("carol"));
    accounts::verifier v(store, 1, 8);

    const auto a = login(v, "alice", "alice-pw");
    CHECK(a.ok);
    CHECK(a.op);
    const auto b = login(v, "BOB", "bob pw");
    CHECK(b.ok);
    CHECK_FALSE(b.op);
    // What docs/protocol.md says a wrong secret gets.
    CHECK(login(v, "bob", "wrong").reason == "wrong name or secret");
    CHECK(login(v, "nobody", "x").reason == "wrong name or secret");

    store->replace(accounts::parse_users("carol:" + hash_of("bob pw") + "\n").accounts);
    CHECK(login(v, "carol", "bob pw").ok);
    CHECK_FALSE(login(v, "alice", "alice-pw").ok);
}

TEST_CASE("the verifier's queue is bounded: beyond it, busy at once", "[accounts]") {
    accounts::init_sodium();
    auto store = std::make_shared<accounts::store>();
    accounts::verifier v(store, 1, 3);
    std::mutex m;
    std::condition_variable cv;
    int answered = 0, busy = 0;
    for (int i = 0; i < 10; ++i)
        v.verify({"alice", "nope", "10.0.0." + std::to_string(i)}, [&](chatroom::login_result r) {
            std::lock_guard<std::mutex> g(m);
            ++answered;
            if (r.reason == "server busy, try again") ++busy;
            cv.notify_all();
        });
    std::unique_lock<std::mutex> g(m);
    REQUIRE(cv.wait_for(g, std::chrono::seconds(30), [&] { return answered == 10; }));
    CHECK(busy == 7);
    CHECK(v.busy_refusals() == 7);
}

TEST_CASE("the verifier takes at most two checks per address; the rest are busy at once", "[accounts]") {
    accounts::init_sodium();
    auto store = std::make_shared<accounts::store>();
    accounts::verifier v(store, 1, 64);
    std::mutex m;
    std::condition_variable cv;
    int answered = 0, busy = 0;
    for (int i = 0; i < 10; ++i)
        v.verify({"alice", "nope", "10.0.0.1"}, [&](chatroom::login_result r) {
            std::lock_guard<std::mutex> g(m);
            ++answered;
            if (r.reason == "server busy, try again") {
                ++busy;
                CHECK_FALSE(r.counts_as_failure);
            }
            cv.notify_all();
        });
    std::unique_lock<std::mutex> g(m);
    REQUIRE(cv.wait_for(g, std::chrono::seconds(30), [&] { return answered == 10; }));
    CHECK(busy == 8);
}

TEST_CASE("one address's flood does not starve another's login: checks are taken in turn by address",
          "[accounts]") {
    accounts::init_sodium();
    auto store = std::make_shared<accounts::store>();
    store->replace(accounts::parse_users("alice:" + hash_of("alice-pw") + "\n").accounts);
    // Room for the whole flood, so only the order of the checks is at stake.
    accounts::verifier v(store, 1, 64, 8);
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::string> order; // addresses, in the order their checks were answered
    auto record = [&](std::string who) {
        return [&, who](chatroom::login_result) {
            std::lock_guard<std::mutex> g(m);
            order.push_back(who);
            cv.notify_all();
        };
    };
    for (int i = 0; i < 8; ++i) v.verify({"alice", "guess", "10.0.0.1"}, record("flood"));
    v.verify({"alice", "alice-pw", "10.0.0.2"}, record("alice"));
    std::unique_lock<std::mutex> g(m);
    REQUIRE(cv.wait_for(g, std::chrono::seconds(60), [&] { return order.size() == 9; }));
    // At most the check running and one more of the flood's go first.
    const auto at = std::find(order.begin(), order.end(), "alice") - order.begin();
    CHECK(at <= 2);
}

TEST_CASE("an unknown name costs about what a known one does", "[accounts]") {
    accounts::init_sodium();
    auto store = std::make_shared<accounts::store>();
    store->replace(accounts::parse_users("alice:" + hash_of("alice-pw") + "\n").accounts);
    accounts::verifier v(store, 1, 8);
    auto time_of = [&](const char* name) {
        auto best = std::chrono::steady_clock::duration::max();
        for (int i = 0; i < 3; ++i) { // the fastest of three: the least disturbed by other load
            const auto t0 = std::chrono::steady_clock::now();
            login(v, name, "wrong");
            best = std::min(best, std::chrono::steady_clock::now() - t0);
        }
        return std::chrono::duration<double>(best).count();
    };
    const double known = time_of("alice"), unknown = time_of("nobody");
    // The same Argon2id work either way; only gross differences are meaningful on a shared machine.
    CHECK(unknown > known / 3);
    CHECK(known > unknown / 3);
}

TEST_CASE("secrets are wiped in place", "[accounts]") {
    std::string s = "topsecret";
    const char* at = s.data();
    accounts::wipe(s);
    CHECK(s.empty());
    for (int i = 0; i < 9; ++i) CHECK(at[i] == '\0');
}
