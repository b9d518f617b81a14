// The SQLite history store (include/chatroom/sqlite.hpp) on real files in a
// temporary directory. Test names start with "sqlite" (the TSan stage
// selects them by name). Waits are bounded by deadlines; flush() is the
// store's own "everything queued so far is committed".

#include <chatroom/sqlite.hpp>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using chatroom::history_errc;
using chatroom::history_page;
using chatroom::history_query;
using chatroom::history_range;
using chatroom::room_event;
using chatroom::room_event_kind;
using chatroom::sqlite_history;
using chatroom::sqlite_history_options;

namespace {

/// A fresh directory, removed at the end.
struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::string name = (std::filesystem::temp_directory_path() / "chatroom-sqlite-XXXXXX").string();
        if (!mkdtemp(name.data())) throw std::runtime_error("mkdtemp failed");
        path = name;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const char* name) const { return (path / name).string(); }
};

const auto base_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'000));

std::chrono::system_clock::time_point time_of(std::uint64_t seq) { return base_time + std::chrono::seconds(seq); }

room_event chat(const std::string& room, std::uint64_t seq, std::chrono::system_clock::time_point time) {
    room_event e;
    e.kind = room_event_kind::chat;
    e.room = room;
    e.seq = seq;
    e.time = time;
    e.nick = "nick" + std::to_string(seq % 7);
    e.add_line("line one of " + std::to_string(seq));
    e.add_line("line two");
    return e;
}

sqlite_history_options options_for(const std::string& path) {
    sqlite_history_options o;
    o.path = path;
    return o;
}

/// Asks q and waits (at most 20 s) for the answer.
std::pair<std::error_code, history_page> ask(sqlite_history& store, const history_query& q) {
    auto answer = std::make_shared<std::promise<std::pair<std::error_code, history_page>>>();
    auto result = answer->get_future();
    store.query(q, [answer](std::error_code ec, history_page page) { answer->set_value({ec, std::move(page)}); });
    if (result.wait_for(20s) != std::future_status::ready) throw std::runtime_error("no answer within 20 s");
    return result.get();
}

history_query make_query(const std::string& room, history_range range, std::string id = {}, std::string until = {},
                         std::size_t limit = 100) {
    history_query q;
    q.room = room;
    q.range = range;
    q.id = std::move(id);
    q.until_id = std::move(until);
    q.limit = limit;
    return q;
}

std::vector<std::uint64_t> seqs(const history_page& page) {
    std::vector<std::uint64_t> out;
    for (const auto& e : page.events) out.push_back(e.seq);
    return out;
}

using ids = std::vector<std::uint64_t>;

/// A collector for on_error, safe from any thread.
struct error_log {
    std::mutex mutex;
    std::vector<std::string> lines;
    std::function<void(std::string)> sink() {
        return [this](std::string line) {
            std::lock_guard<std::mutex> lock(mutex);
            lines.push_back(std::move(line));
        };
    }
    std::vector<std::string> snapshot() {
        std::lock_guard<std::mutex> lock(mutex);
        return lines;
    }
};

} // namespace

TEST_CASE("sqlite history: every range and flag on a small set", "[sqlite]") {
    temp_dir dir;
    auto o = options_for(dir.file("chat.db"));
    o.page_size = 5;
    sqlite_history store(o);
    // "Lobby" gets the even seqs 2..40, "other" the odd ones; the lobby's
    // later events spell its name differently (found case-insensitively,
    // returned as first stored).
    for (std::uint64_t seq = 1; seq <= 40; ++seq)
        store.keep(chat(seq % 2 ? "other" : (seq < 20 ? "Lobby" : "LOBBY"), seq, time_of(seq)));
    room_event action;
    action.kind = room_event_kind::action;
    action.room = "other";
    action.seq = 41;
    action.time = time_of(41);
    action.nick = "ann";
    action.text = "waves";
    store.keep(action);
    room_event joined = chat("other", 42, time_of(42));
    joined.kind = room_event_kind::joined; // not kept
    store.keep(joined);
    store.flush();
    CHECK(store.committed() == 41);

    SECTION("latest: the last N, oldest first, capped at the page size; more when older exist") {
        auto [ec, page] = ask(store, make_query("lobby", history_range::latest, {}, {}, 3));
        REQUIRE(!ec);
        CHECK(seqs(page) == ids{36, 38, 40});
        CHECK(page.more);
        CHECK(!page.unavailable);
        const room_event& e = page.events.back();
        CHECK(e.room == "Lobby");
        CHECK(e.kind == room_event_kind::chat);
        CHECK(e.nick == "nick5");
        CHECK(e.time == time_of(40));
        CHECK(e.text == "line one of 40\nline two\n");
        CHECK(e.line_count == 2);
        CHECK(e.line_ends == std::vector<std::uint32_t>{14, 23});
        auto capped = ask(store, make_query("LOBBY", history_range::latest, {}, {}, 100));
        CHECK(seqs(capped.second) == ids{32, 34, 36, 38, 40});
        CHECK(capped.second.more);
    }
    SECTION("the action comes back as one") {
        auto [ec, page] = ask(store, make_query("other", history_range::latest, {}, {}, 2));
        REQUIRE(!ec);
        CHECK(seqs(page) == ids{39, 41});
        CHECK(page.events.back().kind == room_event_kind::action);
        CHECK(page.events.back().text == "waves");
        CHECK(page.events.back().nick == "ann");
    }
    SECTION("before: N older than the id, oldest first; more until the start") {
        auto [ec, page] = ask(store, make_query("lobby", history_range::before, "10", {}, 3));
        REQUIRE(!ec);
        CHECK(seqs(page) == ids{4, 6, 8});
        CHECK(page.more);
        auto start = ask(store, make_query("lobby", history_range::before, "6", {}, 3));
        CHECK(seqs(start.second) == ids{2, 4});
        CHECK(!start.second.more);
    }
    SECTION("after: N newer than the id; more until the end; the end is empty") {
        auto [ec, page] = ask(store, make_query("lobby", history_range::after, "30", {}, 3));
        REQUIRE(!ec);
        CHECK(seqs(page) == ids{32, 34, 36});
        CHECK(page.more);
        CHECK(!page.unavailable);
        auto tail = ask(store, make_query("lobby", history_range::after, "33", {}, 5));
        CHECK(seqs(tail.second) == ids{34, 36, 38, 40});
        CHECK(!tail.second.more);
        auto end = ask(store, make_query("lobby", history_range::after, "40"));
        CHECK(!end.first);
        CHECK(end.second.events.empty());
        CHECK(!end.second.more);
        CHECK(!end.second.unavailable);
    }
    SECTION("between ids, both included, the first N; more when the range goes on") {
        auto [ec, page] = ask(store, make_query("lobby", history_range::between, "10", "20"));
        REQUIRE(!ec);
        CHECK(seqs(page) == ids{10, 12, 14, 16, 18});
        CHECK(page.more);
        auto exact = ask(store, make_query("lobby", history_range::between, "11", "17"));
        CHECK(seqs(exact.second) == ids{12, 14, 16});
        CHECK(!exact.second.more);
    }
    SECTION("between times, both included") {
        auto q = make_query("lobby", history_range::between);
        q.since = time_of(10);
        q.until = time_of(14);
        auto [ec, page] = ask(store, q);
        REQUIRE(!ec);
        CHECK(seqs(page) == ids{10, 12, 14});
        CHECK(!page.more);
        q.until = time_of(40);
        auto more = ask(store, q);
        CHECK(seqs(more.second) == ids{10, 12, 14, 16, 18});
        CHECK(more.second.more);
    }
    SECTION("a room never spoken in: an empty page, no error") {
        auto [ec, page] = ask(store, make_query("nowhere", history_range::latest));
        CHECK(!ec);
        CHECK(page.events.empty());
        CHECK(!page.more);
    }
}

TEST_CASE("sqlite history: ids that are not ids are bad_query", "[sqlite]") {
    temp_dir dir;
    sqlite_history store(options_for(dir.file("chat.db")));
    store.keep(chat("a", 1, time_of(1)));
    store.flush();
    const std::vector<history_query> bad = {
        make_query("a", history_range::before, "x"),
        make_query("a", history_range::after, ""),
        make_query("a", history_range::after, "12a"),
        make_query("a", history_range::after, "1733486400000-3"),
        make_query("a", history_range::after, "99999999999999999999"),
        make_query("a", history_range::between, "5", "3"),
        make_query("a", history_range::between, "5", ""),
    };
    for (const auto& q : bad) {
        INFO("id '" << q.id << "' until '" << q.until_id << "'");
        CHECK(ask(store, q).first == history_errc::bad_query);
    }
    auto times = make_query("a", history_range::between);
    times.since = time_of(5);
    times.until = time_of(3);
    CHECK(ask(store, times).first == history_errc::bad_query);
    CHECK(!ask(store, make_query("a", history_range::after, "0")).first);
}

TEST_CASE("sqlite history: ids continue after a reopen, even when retention emptied the rooms", "[sqlite]") {
    temp_dir dir;
    const auto path = dir.file("chat.db");
    {
        sqlite_history store(options_for(path));
        CHECK(store.last_seq() == 0);
        for (std::uint64_t seq = 1; seq <= 50; ++seq) store.keep(chat(seq % 2 ? "a" : "b", seq, time_of(seq)));
    } // the destructor stops, committing all
    {
        sqlite_history store(options_for(path));
        CHECK(store.last_seq() == 50);
        auto [ec, page] = ask(store, make_query("a", history_range::latest, {}, {}, 2));
        CHECK(seqs(page) == ids{47, 49});
        CHECK(page.events.back().time == time_of(49));
    }
    {
        auto o = options_for(path);
        o.keep_age = 1h; // base_time is long past: everything goes
        sqlite_history store(o);
        store.flush();
        CHECK(ask(store, make_query("a", history_range::latest)).second.events.empty());
        CHECK(ask(store, make_query("b", history_range::latest)).second.events.empty());
    }
    sqlite_history store(options_for(path));
    CHECK(store.last_seq() == 50);
}

namespace {

/// Runs sql on the file at path (outside the store); throws on error.
void run_sql(const std::string& path, const char* sql) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open(path.c_str(), &db);
    char* why = nullptr;
    const int rc2 = rc == SQLITE_OK ? sqlite3_exec(db, sql, nullptr, nullptr, &why) : rc;
    const std::string message = why ? why : sqlite3_errstr(rc2);
    sqlite3_free(why);
    sqlite3_close(db);
    if (rc2 != SQLITE_OK) throw std::runtime_error(std::string(sql) + ": " + message);
}

/// The schema's sql of a table or index, "" when absent.
std::string schema_of(const std::string& path, const std::string& name) {
    sqlite3* db = nullptr;
    std::string out;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE name = ?1", -1, &s, nullptr) == SQLITE_OK) {
            sqlite3_bind_text(s, 1, name.c_str(), -1, SQLITE_TRANSIENT);
            if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
                out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
        }
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return out;
}

/// A room event of many lines (kilobytes, as a server's batch of a read).
room_event long_chat(const std::string& room, std::uint64_t seq) {
    room_event e = chat(room, seq, time_of(seq));
    for (int i = 0; i < 60; ++i) e.add_line(std::string(64, static_cast<char>('a' + (seq + i) % 26)));
    return e;
}

/// Keeps long events 1..n into "a" (n odd ones also into "b"), a duplicate
/// of each, and checks every page and every text.
void check_long_rows(const std::string& path, std::uint64_t first, std::uint64_t last) {
    sqlite_history store(options_for(path));
    for (std::uint64_t seq = first; seq <= last; ++seq) store.keep(long_chat(seq % 2 ? "b" : "a", seq));
    for (std::uint64_t seq = first; seq <= last; ++seq) store.keep(long_chat(seq % 2 ? "b" : "a", seq)); // again
    store.flush();
    CHECK(store.committed() == 2 * (last - first + 1));
    ids want_a;
    for (std::uint64_t seq = 2; seq <= last; seq += 2) want_a.push_back(seq);
    history_page all;
    for (std::string after = "0";;) {
        auto [ec, page] = ask(store, make_query("a", history_range::after, after, {}, 7));
        REQUIRE(!ec);
        for (auto& e : page.events) all.events.push_back(std::move(e));
        if (!page.more) break;
        after = std::to_string(all.events.back().seq);
    }
    CHECK(seqs(all) == want_a); // the duplicates ignored, order kept
    for (const auto& e : all.events) CHECK(e.text == long_chat("a", e.seq).text);
    auto before = ask(store, make_query("b", history_range::before, std::to_string(last), {}, 3));
    CHECK(seqs(before.second) == ids{last - 6, last - 4, last - 2});
}

} // namespace

TEST_CASE("sqlite history: long rows in a rowid table with a unique id index, and files of the earlier layout",
          "[sqlite]") {
    temp_dir dir;
    SECTION("a new file") {
        const auto path = dir.file("new.db");
        check_long_rows(path, 1, 41);
        CHECK(schema_of(path, "messages").find("WITHOUT ROWID") == std::string::npos);
        CHECK(schema_of(path, "messages_seq").find("UNIQUE INDEX") != std::string::npos);
    }
    SECTION("a file made WITHOUT ROWID, keyed by room and id, as before") {
        const auto path = dir.file("old.db");
        run_sql(path, "CREATE TABLE messages (room_key TEXT NOT NULL, seq INTEGER NOT NULL,"
                      " time_ms INTEGER NOT NULL, kind TEXT NOT NULL, nick TEXT NOT NULL, text TEXT NOT NULL,"
                      " PRIMARY KEY (room_key, seq)) WITHOUT ROWID");
        check_long_rows(path, 1, 41);
        CHECK(schema_of(path, "messages").find("WITHOUT ROWID") != std::string::npos);
        CHECK(schema_of(path, "messages_seq").empty()); // its key orders the ids already
        CHECK(schema_of(path, "messages").find("account") != std::string::npos); // the column added
    }
}

TEST_CASE("sqlite history: the account a line was said under is kept (IRC's account-tag on replay)", "[sqlite]") {
    temp_dir dir;
    const auto path = dir.file("account.db");
    sqlite_history store(options_for(path));
    room_event said = chat("dev", 1, time_of(1));
    said.account = "bobby";
    store.keep(said);
    room_event guest = chat("dev", 2, time_of(2));
    store.keep(guest);
    store.flush();
    auto [ec, page] = ask(store, make_query("dev", history_range::latest));
    REQUIRE(!ec);
    REQUIRE(page.events.size() == 2);
    CHECK(page.events[0].account == "bobby");
    CHECK(page.events[1].account.empty());
}

TEST_CASE("sqlite history: rows written by something else are checked as any outside input", "[sqlite]") {
    temp_dir dir;
    const auto path = dir.file("hostile.db");
    sqlite_history store(options_for(path));
    store.keep(chat("dev", 1, time_of(1))); // makes the room's row
    store.flush();
    // Rows another program put there: a nick that would break an IRC line,
    // text with control characters and broken UTF-8, text that cleans to
    // nothing, an account that is no name; and the room's own name changed.
    run_sql(path, "INSERT INTO messages (room_key, seq, time_ms, kind, nick, text, account) VALUES"
                  " ('dev', 2, 1700000002000, 'chat', 'evil' || char(13) || char(10) || 'KILL', 'hi' || char(10), ''),"
                  " ('dev', 3, 1700000003000, 'chat', 'mallory', 'a' || char(27) || '[31mred' || char(7) || char(10)"
                  "   || char(1) || char(10) || 'b' || char(10), 'not an account'),"
                  " ('dev', 4, 1700000004000, 'action', 'mallory', 'waves' || char(13) || char(10) || 'PRIVMSG', 'ok_acc'),"
                  " ('dev', 5, 1700000005000, 'chat', 'mallory', char(1) || char(2) || char(10), ''),"
                  " ('dev', 6, 1700000006000, 'chat', 'mallory', CAST(x'c3' AS TEXT) || 'x' || char(10), '');"
                  "UPDATE rooms SET room = 'dev' || char(10) || 'x' WHERE room_key = 'dev'");
    auto [ec, page] = ask(store, make_query("Dev", history_range::latest));
    REQUIRE(!ec);
    CHECK(seqs(page) == ids{1, 3, 4, 6}); // 2: no valid nick; 5: nothing left once cleaned
    for (const auto& e : page.events) {
        CHECK(e.room == "Dev"); // the asker's name, not the file's
        CHECK(chatroom::is_clean_text(e.text.substr(0, e.text.find('\n'))));
        CHECK(e.text.find('\r') == std::string::npos);
    }
    REQUIRE(page.events.size() == 4);
    CHECK(page.events[1].text == "a[31mred\nb\n"); // the empty line left out
    CHECK(page.events[1].line_count == 2);
    CHECK(page.events[1].account.empty());
    CHECK(page.events[2].kind == room_event_kind::action);
    CHECK(page.events[2].text.find('\n') == std::string::npos);
    CHECK(page.events[2].account == "ok_acc");
    CHECK(chatroom::is_clean_text(page.events[3].text.substr(0, page.events[3].text.size() - 1)));

    // `more` counts the rows read, kept or not: rows 6, 5 (left out) and 4
    // fill a limit of 3, and older rows are there.
    auto [ec3, three] = ask(store, make_query("dev", history_range::latest, {}, {}, 3));
    REQUIRE(!ec3);
    CHECK(seqs(three) == ids{4, 6});
    CHECK(three.more);

    // A time no clock holds is held to the clock's range (no overflow).
    run_sql(path, "INSERT INTO messages (room_key, seq, time_ms, kind, nick, text, account) VALUES"
                  " ('dev', 7, 9223372036854775807, 'chat', 'mallory', 'late' || char(10), ''),"
                  " ('dev', 8, -9223372036854775807, 'chat', 'mallory', 'early' || char(10), '')");
    auto [ec4, times] = ask(store, make_query("dev", history_range::after, "6"));
    REQUIRE(!ec4);
    REQUIRE(seqs(times) == ids{7, 8});
    CHECK(times.events[0].time > base_time);
    CHECK(times.events[1].time < base_time);
}

TEST_CASE("sqlite history: a page holds at most 8 MiB of text, then says more", "[sqlite]") {
    temp_dir dir;
    const auto path = dir.file("big.db");
    sqlite_history store(options_for(path));
    store.keep(chat("dev", 1, time_of(1)));
    store.flush();
    // Rows of 5 MB (one line each), as only a file written by something else holds.
    run_sql(path, "INSERT INTO messages (room_key, seq, time_ms, kind, nick, text, account)"
                  " SELECT 'dev', 1 + value, 1700000000000 + value, 'chat', 'mallory',"
                  " substr(hex(zeroblob(2500000)), 1, 5000000) || char(10), ''"
                  " FROM (SELECT 1 AS value UNION ALL SELECT 2 UNION ALL SELECT 3)");
    auto [ec, page] = ask(store, make_query("dev", history_range::latest, {}, {}, 10));
    REQUIRE(!ec);
    CHECK(seqs(page) == ids{3, 4}); // the newest two reach 8 MiB
    CHECK(page.more);
    auto [ec2, rest] = ask(store, make_query("dev", history_range::before, "3", {}, 10));
    REQUIRE(!ec2);
    CHECK(seqs(rest) == ids{1, 2});
    CHECK_FALSE(rest.more);
}

TEST_CASE("sqlite history: retention by count per room", "[sqlite]") {
    temp_dir dir;
    auto o = options_for(dir.file("chat.db"));
    o.keep_count = 10;
    {
        sqlite_history store(o);
        for (std::uint64_t seq = 1; seq <= 100; ++seq) store.keep(chat("a", seq, time_of(seq)));
        for (std::uint64_t seq = 101; seq <= 105; ++seq) store.keep(chat("b", seq, time_of(seq)));
        store.flush();
        auto a = ask(store, make_query("a", history_range::latest));
        CHECK(seqs(a.second) == ids{91, 92, 93, 94, 95, 96, 97, 98, 99, 100});
        CHECK(!a.second.more);
        CHECK(ask(store, make_query("b", history_range::latest)).second.events.size() == 5);
        // A client whose last id was deleted: told, and given the latest.
        auto gone = ask(store, make_query("a", history_range::after, "50", {}, 3));
        CHECK(gone.second.unavailable);
        CHECK(seqs(gone.second) == ids{98, 99, 100});
        auto kept = ask(store, make_query("a", history_range::after, "95", {}, 3));
        CHECK(!kept.second.unavailable);
        CHECK(seqs(kept.second) == ids{96, 97, 98});
        // Deleted up to 90: after 90 misses nothing.
        CHECK(!ask(store, make_query("a", history_range::after, "90")).second.unavailable);
    }
    sqlite_history store(o); // the counts are read back from the file
    for (std::uint64_t seq = 106; seq <= 110; ++seq) store.keep(chat("a", seq, time_of(seq)));
    store.flush();
    CHECK(seqs(ask(store, make_query("a", history_range::latest)).second) ==
          ids{96, 97, 98, 99, 100, 106, 107, 108, 109, 110});
}

TEST_CASE("sqlite history: retention by age", "[sqlite]") {
    temp_dir dir;
    auto o = options_for(dir.file("chat.db"));
    o.keep_age = 24h;
    sqlite_history store(o);
    store.flush(); // the first age check is done: the next flush must check again, not wait its second
    const auto now = std::chrono::system_clock::now();
    for (std::uint64_t seq = 1; seq <= 10; ++seq) store.keep(chat("a", seq, now - 48h + std::chrono::seconds(seq)));
    for (std::uint64_t seq = 11; seq <= 20; ++seq) store.keep(chat("a", seq, now - 1h + std::chrono::seconds(seq)));
    store.flush();
    auto [ec, page] = ask(store, make_query("a", history_range::latest));
    REQUIRE(!ec);
    CHECK(seqs(page) == ids{11, 12, 13, 14, 15, 16, 17, 18, 19, 20});
    CHECK(ask(store, make_query("a", history_range::after, "5")).second.unavailable);
}

TEST_CASE("sqlite history: a full queue drops, counts, and tells once per episode", "[sqlite]") {
    temp_dir dir;
    error_log errors;
    auto o = options_for(dir.file("chat.db"));
    o.queue_limit = 4;
    o.commit_batch = 1000;          // never reached: the writer waits for the interval...
    o.commit_interval = 1h;         // ...so nothing leaves the queue until flush()
    o.on_error = errors.sink();
    sqlite_history store(o);
    for (std::uint64_t seq = 1; seq <= 10; ++seq) store.keep(chat("a", seq, time_of(seq)));
    CHECK(store.dropped() == 6);
    store.flush();
    CHECK(store.committed() == 4);
    auto lines = errors.snapshot();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("queue is full") != std::string::npos);
    // Room again: the next overflow is a new episode, told again.
    for (std::uint64_t seq = 11; seq <= 16; ++seq) store.keep(chat("a", seq, time_of(seq)));
    store.flush();
    CHECK(store.dropped() == 8);
    CHECK(store.committed() == 8);
    CHECK(errors.snapshot().size() == 2);
    CHECK(seqs(ask(store, make_query("a", history_range::latest)).second) == ids{1, 2, 3, 4, 11, 12, 13, 14});
}

TEST_CASE("sqlite history: stop commits everything queued, then keeps nothing and answers stopping", "[sqlite]") {
    temp_dir dir;
    const auto path = dir.file("chat.db");
    auto o = options_for(path);
    o.commit_batch = 100000;
    o.commit_interval = 1h; // only stop() makes the writer write
    {
        sqlite_history store(o);
        for (std::uint64_t seq = 1; seq <= 1000; ++seq) store.keep(chat("a", seq, time_of(seq)));
        CHECK(store.committed() == 0);
        store.stop();
        CHECK(store.committed() == 1000);
        store.keep(chat("a", 1001, time_of(1001)));
        store.stop(); // idempotent
        CHECK(store.committed() == 1000);
        CHECK(ask(store, make_query("a", history_range::latest)).first == history_errc::stopping);
        store.flush(); // returns at once after stop
    }
    sqlite_history store(options_for(path));
    CHECK(store.last_seq() == 1000);
    auto q = make_query("a", history_range::between, "1", "1000");
    auto first = ask(store, q);
    CHECK(first.second.events.size() == 100);
    CHECK(first.second.more);
}

TEST_CASE("sqlite history: a file that cannot be opened throws, naming it", "[sqlite]") {
    temp_dir dir;
    const auto missing = dir.file("no-such-dir/chat.db");
    try {
        sqlite_history store(options_for(missing));
        FAIL("no exception");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()).find(missing) != std::string::npos);
    }
    const auto garbage = dir.file("garbage.db");
    std::ofstream(garbage) << std::string(4096, 'x');
    try {
        sqlite_history store(options_for(garbage));
        FAIL("no exception");
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        CHECK(what.find(garbage) != std::string::npos);
        CHECK(what.find("not a database") != std::string::npos);
    }
}

TEST_CASE("sqlite history: keep from two threads into two rooms while queries run", "[sqlite]") {
    temp_dir dir;
    auto o = options_for(dir.file("chat.db"));
    o.page_size = 5000;
    o.commit_interval = 1ms;
    error_log errors;
    o.on_error = errors.sink();
    sqlite_history store(o);
    constexpr std::uint64_t per_room = 3000;
    std::atomic<bool> writing{true};
    auto writer = [&](const std::string& room, std::uint64_t odd) {
        for (std::uint64_t i = 0; i < per_room; ++i) store.keep(chat(room, 2 * i + 1 + odd, time_of(i)));
    };
    std::atomic<int> pages{0};
    std::atomic<int> disorder{0};
    std::thread reader([&] {
        while (writing.load()) {
            for (const char* room : {"a", "b"}) {
                auto [ec, page] = ask(store, make_query(room, history_range::latest, {}, {}, 50));
                if (ec) ++disorder;
                for (std::size_t i = 1; i < page.events.size(); ++i)
                    if (page.events[i - 1].seq >= page.events[i].seq || page.events[i].room != room) ++disorder;
                ++pages;
            }
        }
    });
    std::thread a(writer, "a", 0);
    std::thread b(writer, "b", 1);
    a.join();
    b.join();
    store.flush();
    writing = false;
    reader.join();
    CHECK(disorder == 0);
    CHECK(pages > 0);
    CHECK(store.committed() == 2 * per_room);
    CHECK(store.dropped() == 0);
    for (const char* room : {"a", "b"}) {
        auto all = ask(store, make_query(room, history_range::after, "0", {}, 5000));
        REQUIRE(all.second.events.size() == per_room);
        for (std::size_t i = 1; i < per_room; ++i) CHECK(all.second.events[i].seq == all.second.events[i - 1].seq + 2);
    }
    CHECK(errors.snapshot().empty());
}

TEST_CASE("sqlite history: a read or a write that fails is answered store_failed and told", "[sqlite]") {
    temp_dir dir;
    const auto path = dir.file("chat.db");
    error_log errors;
    auto o = options_for(path);
    o.on_error = errors.sink();
    sqlite_history store(o);
    store.keep(chat("a", 1, time_of(1)));
    store.flush();
    REQUIRE(ask(store, make_query("a", history_range::latest)).second.events.size() == 1);
    { // Another program breaks the file under the store.
        sqlite3* raw = nullptr;
        REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
        sqlite3_busy_timeout(raw, 10000);
        CHECK(sqlite3_exec(raw, "DROP TABLE messages", nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(raw);
    }
    CHECK(ask(store, make_query("a", history_range::latest)).first == history_errc::store_failed);
    store.keep(chat("a", 2, time_of(2)));
    store.flush();
    CHECK(store.failed() == 1);
    CHECK(store.committed() == 1);
    const auto lines = errors.snapshot();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].find("a query failed") != std::string::npos);
    CHECK(lines[1].find("1 messages not stored") != std::string::npos);
}

TEST_CASE("sqlite history: a full query queue refuses at once with store_failed", "[sqlite]") {
    temp_dir dir;
    error_log errors;
    auto o = options_for(dir.file("chat.db"));
    o.query_limit = 3;
    o.on_error = errors.sink();
    sqlite_history store(o);
    // The first query's done holds the query thread until released.
    std::promise<void> release, holding;
    auto released = release.get_future().share();
    store.query(make_query("a", history_range::latest), [&](std::error_code, history_page) {
        holding.set_value();
        released.wait();
    });
    REQUIRE(holding.get_future().wait_for(20s) == std::future_status::ready);
    std::atomic<int> calls{0};
    for (int i = 0; i < 3; ++i)
        store.query(make_query("a", history_range::latest), [&](std::error_code ec, history_page) {
            if (!ec || ec == history_errc::stopping) ++calls;
        });
    std::error_code refused;
    store.query(make_query("a", history_range::latest), [&](std::error_code ec, history_page) { refused = ec; });
    CHECK(refused == history_errc::store_failed); // answered inside query(), at once
    CHECK(errors.snapshot().size() == 1);
    release.set_value();
    store.stop(); // the queued three are answered (or told stopping) before stop returns
    CHECK(calls == 3);
}
