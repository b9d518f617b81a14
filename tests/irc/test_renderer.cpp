// Room events as IRC (include/chatroom/irc/renderer.hpp): the words of each
// kind, tags only for the capabilities negotiated, and no line body past
// 512 bytes, text cut at UTF-8 boundaries.
#include <chatroom/irc.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace {

std::vector<std::string> lines_of(const chatroom::shared_bytes& m) {
    std::vector<std::string> out;
    std::string_view v = m.view();
    while (!v.empty()) {
        const std::size_t crlf = v.find("\r\n");
        REQUIRE(crlf != std::string_view::npos); // every line ends in CR LF
        out.emplace_back(v.substr(0, crlf));
        v.remove_prefix(crlf + 2);
    }
    return out;
}

chatroom::room_event event(chatroom::room_event_kind k) {
    chatroom::room_event e;
    e.kind = k;
    e.room = "dev";
    e.nick = "bob";
    e.seq = 42;
    e.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1765033058123)); // 2025-12-06T14:57:38.123Z
    return e;
}

} // namespace

TEST_CASE("each kind of room event reads as IRC", "[irc][renderer]") {
    const chatroom::irc::event_renderer r("srv", chatroom::irc::no_tags);
    auto chat = event(chatroom::room_event_kind::chat);
    chat.add_line("hello");
    chat.add_line("again");
    CHECK(lines_of(r.render(chat)) ==
          std::vector<std::string>{":bob!bob@srv PRIVMSG #dev :hello", ":bob!bob@srv PRIVMSG #dev :again"});
    auto action = event(chatroom::room_event_kind::action);
    action.text = "waves";
    CHECK(lines_of(r.render(action)).at(0) == ":bob!bob@srv PRIVMSG #dev :\x01" "ACTION waves\x01");
    CHECK(lines_of(r.render(event(chatroom::room_event_kind::joined))).at(0) == ":bob!bob@srv JOIN #dev");
    auto left = event(chatroom::room_event_kind::left);
    CHECK(lines_of(r.render(left)).at(0) == ":bob!bob@srv PART #dev");
    left.reason = "see you";
    CHECK(lines_of(r.render(left)).at(0) == ":bob!bob@srv PART #dev :see you");
    // A part's reason that reads like a quit stays a part: only the core's
    // flag makes a QUIT, which no client can set.
    for (const char* spoof : {"quit", "quit: gone fishing", "connection lost: Ping timeout: 1 seconds"})
        CHECK(lines_of(r.render([&] { auto e = left; e.reason = spoof; return e; }())).at(0) ==
              std::string(":bob!bob@srv PART #dev :") + spoof);
    // Leaving the server: a QUIT, its reason from the core's words.
    left.left_server = true;
    const std::pair<const char*, const char*> quits[] = {{"quit", "Quit"},
                                                         {"quit: gone fishing", "Quit: gone fishing"},
                                                         {"connection lost: Ping timeout: 180 seconds", "Ping timeout: 180 seconds"},
                                                         {"connection lost", "connection lost"},
                                                         {"too slow", "too slow"},
                                                         {"server lost", "server lost"},
                                                         {"", "Connection closed"}};
    for (const auto& [reason, said] : quits) {
        left.reason = reason;
        CHECK(lines_of(r.render(left)).at(0) == std::string(":bob!bob@srv QUIT :") + said);
    }
    auto renamed = event(chatroom::room_event_kind::renamed);
    renamed.old_nick = "bob";
    renamed.nick = "robert";
    CHECK(lines_of(r.render(renamed)).at(0) == ":bob!bob@srv NICK robert");
    auto pm = event(chatroom::room_event_kind::private_message);
    pm.target = "alice";
    pm.text = "psst";
    CHECK(lines_of(r.render(pm)).at(0) == ":bob!bob@srv PRIVMSG alice :psst");
    auto notice = event(chatroom::room_event_kind::notice);
    notice.text = "the server restarts soon";
    CHECK(lines_of(r.render(notice)).at(0) == ":srv NOTICE #dev :the server restarts soon");
    // A topic change is IRC's TOPIC, from its setter or, set by the host, from the server.
    auto topic = event(chatroom::room_event_kind::topic);
    topic.text = "builds are green";
    CHECK(lines_of(r.render(topic)) == std::vector<std::string>{":bob!bob@srv TOPIC #dev :builds are green"});
    topic.nick.clear();
    CHECK(lines_of(r.render(topic)) == std::vector<std::string>{":srv TOPIC #dev :builds are green"});
    std::string long_topic;
    for (int i = 0; i < 300; ++i) long_topic += "é日";
    topic.text = long_topic;
    const auto cut = lines_of(r.render(topic));
    REQUIRE(cut.size() == 1); // one TOPIC, cut at a UTF-8 boundary
    CHECK(cut[0].size() + 2 <= 512);
    CHECK(long_topic.rfind(cut[0].substr(cut[0].find(" :") + 2), 0) == 0);
}

TEST_CASE("a room operator's changes read as MODE, a kick out of the room as KICK", "[irc][renderer][chanops]") {
    const chatroom::irc::event_renderer r("srv", chatroom::irc::no_tags);
    auto mode = event(chatroom::room_event_kind::mode);
    mode.text = "+o carol";
    CHECK(lines_of(r.render(mode)) == std::vector<std::string>{":bob!bob@srv MODE #dev +o carol"});
    mode.nick.clear(); // the server made the room's first member its operator
    mode.text = "+o bob";
    CHECK(lines_of(r.render(mode)) == std::vector<std::string>{":srv MODE #dev +o bob"});
    auto kicked = event(chatroom::room_event_kind::left);
    kicked.nick = "carol";
    kicked.kicked_by = "bob";
    kicked.reason = "enough";
    CHECK(lines_of(r.render(kicked)) == std::vector<std::string>{":bob!bob@srv KICK #dev carol :enough"});
    kicked.reason.clear();
    CHECK(lines_of(r.render(kicked)) == std::vector<std::string>{":bob!bob@srv KICK #dev carol :bob"});
}

TEST_CASE("a line said as a notice is relayed as NOTICE, to a channel or a nick", "[irc][renderer][notice]") {
    const chatroom::irc::event_renderer r("srv", chatroom::irc::message_tags);
    auto chat = event(chatroom::room_event_kind::chat);
    chat.add_line("heads up");
    chat.as_notice = true;
    CHECK(lines_of(r.render(chat)) == std::vector<std::string>{"@msgid=42 :bob!bob@srv NOTICE #dev :heads up"});
    auto pm = event(chatroom::room_event_kind::private_message);
    pm.target = "alice";
    pm.text = "psst";
    pm.as_notice = true;
    CHECK(lines_of(r.render(pm)) == std::vector<std::string>{"@msgid=42 :bob!bob@srv NOTICE alice :psst"});
    // Long text is cut as a PRIVMSG's is, each piece a NOTICE.
    std::string text;
    for (int i = 0; i < 300; ++i) text += "é日";
    auto long_chat = event(chatroom::room_event_kind::chat);
    long_chat.add_line(text);
    long_chat.as_notice = true;
    const auto pieces = lines_of(r.render(long_chat));
    REQUIRE(pieces.size() > 1);
    for (const auto& l : pieces) {
        CHECK(l.find(" :bob!bob@srv NOTICE #dev :") != std::string::npos);
        CHECK(l.size() - l.find(':') + 2 <= 512);
    }
}

TEST_CASE("tags follow the capabilities: time with server-time, msgid with message-tags", "[irc][renderer][tags]") {
    auto chat = event(chatroom::room_event_kind::chat);
    chat.add_line("one");
    chat.add_line("two");
    using namespace chatroom::irc;
    CHECK(lines_of(event_renderer("srv", server_time).render(chat)).at(0) ==
          "@time=2025-12-06T14:57:38.123Z :bob!bob@srv PRIVMSG #dev :one");
    const auto tagged = lines_of(event_renderer("srv", message_tags).render(chat));
    CHECK(tagged.at(0) == "@msgid=42 :bob!bob@srv PRIVMSG #dev :one");
    CHECK(tagged.at(1) == "@msgid=42-1 :bob!bob@srv PRIVMSG #dev :two"); // one id per line
    chat.log_id = "1765033058123-0"; // a backplane's id
    CHECK(lines_of(event_renderer("srv", server_time | message_tags).render(chat)).at(0) ==
          "@msgid=1765033058123-0;time=2025-12-06T14:57:38.123Z :bob!bob@srv PRIVMSG #dev :one");
    // Without either capability no tag at all.
    CHECK(lines_of(event_renderer("srv", no_tags).render(chat)).at(0).front() == ':');
}

TEST_CASE("a client's own tags go to message-tags recipients only, beside msgid", "[irc][renderer][tags]") {
    using namespace chatroom::irc;
    auto chat = event(chatroom::room_event_kind::chat);
    chat.add_line("hi");
    chat.client_tags = "+draft/reply=7;+baz=b\\sa";
    CHECK(lines_of(event_renderer("srv", message_tags).render(chat)).at(0) ==
          "@+draft/reply=7;+baz=b\\sa;msgid=42 :bob!bob@srv PRIVMSG #dev :hi");
    CHECK(lines_of(event_renderer("srv", server_time).render(chat)).at(0) ==
          "@time=2025-12-06T14:57:38.123Z :bob!bob@srv PRIVMSG #dev :hi");
    CHECK(lines_of(event_renderer("srv", no_tags).render(chat)).at(0) == ":bob!bob@srv PRIVMSG #dev :hi");
    auto pm = event(chatroom::room_event_kind::private_message);
    pm.target = "carol";
    pm.text = "psst";
    pm.seq = 0; // no msgid: the client's tags alone
    pm.client_tags = "+a";
    CHECK(lines_of(event_renderer("srv", message_tags).render(pm)).at(0) == "@+a :bob!bob@srv PRIVMSG carol :psst");
    // A chat event with tags and no text is a TAGMSG, to message-tags recipients only.
    auto tagmsg = event(chatroom::room_event_kind::chat);
    tagmsg.client_tags = "+typing=active";
    CHECK(lines_of(event_renderer("srv", message_tags | server_time).render(tagmsg)) ==
          std::vector<std::string>{"@+typing=active;msgid=42;time=2025-12-06T14:57:38.123Z :bob!bob@srv TAGMSG #dev"});
    CHECK(event_renderer("srv", server_time).render(tagmsg).empty());
    CHECK(event_renderer("srv", no_tags).render(tagmsg).empty());
    // What a room event may carry: '+' keys, no blank or line end, bounded.
    CHECK(chatroom::is_client_tag_data("+a=1;+b"));
    CHECK_FALSE(chatroom::is_client_tag_data(""));
    CHECK_FALSE(chatroom::is_client_tag_data("msgid=1"));
    CHECK_FALSE(chatroom::is_client_tag_data("+a;msgid=1"));
    CHECK_FALSE(chatroom::is_client_tag_data("+a;"));
    CHECK_FALSE(chatroom::is_client_tag_data("+a=1 PRIVMSG"));
    CHECK_FALSE(chatroom::is_client_tag_data("+a=\r"));
    CHECK(chatroom::is_client_tag_data("+" + std::string(chatroom::max_client_tag_bytes - 1, 'a')));
    CHECK_FALSE(chatroom::is_client_tag_data("+" + std::string(chatroom::max_client_tag_bytes, 'a')));
    // From a client's message: '+' tags only, escaped again.
    const auto p = parse("@+x=a\\:b\\s;fizz=buzz;+y PRIVMSG #dev :hi");
    REQUIRE(p.error == parse_error::none);
    CHECK(detail::client_tags_of(p.msg) == "+x=a\\:b\\s;+y");
}

TEST_CASE("long text is sent in several lines, none past 512 bytes, cut at UTF-8 boundaries", "[irc][renderer][limits]") {
    std::string text;
    for (int i = 0; i < 300; ++i) text += "é日";
    auto chat = event(chatroom::room_event_kind::chat);
    chat.add_line(text);
    auto action = event(chatroom::room_event_kind::action);
    action.text = text;
    for (const auto* e : {&chat, &action}) {
        const auto lines = lines_of(chatroom::irc::event_renderer("srv", chatroom::irc::server_time).render(*e));
        REQUIRE(lines.size() > 1);
        std::string joined;
        for (const auto& l : lines) {
            const std::size_t body = l.find(" :bob!");
            REQUIRE(body != std::string::npos);
            CHECK(l.size() - body - 1 + 2 <= 512); // the body with its CR LF
            const std::string piece = l.substr(l.find(" :", body + 2) + 2);
            CHECK((static_cast<unsigned char>(piece.front()) & 0xC0) != 0x80);
            joined += piece;
        }
        if (e == &chat) CHECK(joined == text);
    }
}

TEST_CASE("server-time writes UTC with milliseconds", "[irc][renderer]") {
    using namespace std::chrono;
    CHECK(chatroom::irc::format_time(system_clock::time_point(milliseconds(0))) == "1970-01-01T00:00:00.000Z");
    CHECK(chatroom::irc::format_time(system_clock::time_point(milliseconds(951782400001))) ==
          "2000-02-29T00:00:00.001Z");
}

TEST_CASE("WHO masks: '*' any run, '?' one character, ASCII case ignored", "[irc][who]") {
    using chatroom::irc::detail::mask_matches;
    CHECK(mask_matches("*", "alice"));
    CHECK(mask_matches("*", ""));
    CHECK(mask_matches("ali*", "ALICE"));
    CHECK(mask_matches("coolni*", "coolNick"));
    CHECK(mask_matches("*ic?", "alice"));
    CHECK(mask_matches("a*c*e", "alice"));
    CHECK(mask_matches("a**e", "ae"));
    CHECK_FALSE(mask_matches("alice", "alic"));
    CHECK_FALSE(mask_matches("ali", "alice"));
    CHECK_FALSE(mask_matches("?lice?", "alice"));
    CHECK_FALSE(mask_matches("b*", "alice"));
    CHECK_FALSE(mask_matches("", "alice"));
}

TEST_CASE("account-tag: a logged-in member's events carry account=, once per capability set", "[irc][renderer][account]") {
    using namespace chatroom::irc;
    const detail::config cfg(chatroom::irc_options{});
    auto chat = event(chatroom::room_event_kind::chat);
    chat.add_line("hi");
    chat.account = "bob";
    // Each combination of the tag capabilities has its own shared renderer.
    CHECK(&cfg.events(account_tag) != &cfg.events(no_tags));
    CHECK(&cfg.events(account_tag | away_notify) == &cfg.events(account_tag));
    CHECK(&cfg.events(server_time | message_tags | account_tag) != &cfg.events(server_time | message_tags));
    CHECK(lines_of(cfg.events(account_tag).render(chat)) ==
          std::vector<std::string>{"@account=bob :bob!bob@chatroom.irc PRIVMSG #dev :hi"});
    CHECK(lines_of(cfg.events(account_tag | server_time | message_tags).render(chat)) ==
          std::vector<std::string>{"@account=bob;msgid=42;time=2025-12-06T14:57:38.123Z :bob!bob@chatroom.irc PRIVMSG #dev :hi"});
    CHECK(lines_of(cfg.events(no_tags).render(chat)) == std::vector<std::string>{":bob!bob@chatroom.irc PRIVMSG #dev :hi"});
    // With client tags, which come first as the client sent them.
    chat.client_tags = "+typing=active";
    CHECK(lines_of(cfg.events(account_tag | message_tags).render(chat)) ==
          std::vector<std::string>{"@account=bob;+typing=active;msgid=42 :bob!bob@chatroom.irc PRIVMSG #dev :hi"});
    // A guest's event carries none; an account's value is escaped as a tag value.
    chat.client_tags.clear();
    chat.account.clear();
    CHECK(lines_of(cfg.events(account_tag).render(chat)) == std::vector<std::string>{":bob!bob@chatroom.irc PRIVMSG #dev :hi"});
    auto joined = event(chatroom::room_event_kind::joined);
    joined.account = "a b;c";
    CHECK(lines_of(cfg.events(account_tag).render(joined)) ==
          std::vector<std::string>{"@account=a\\sb\\:c :bob!bob@chatroom.irc JOIN #dev"});
}

TEST_CASE("away-notify: an away event reads as AWAY to a client with the cap only, once across rooms",
          "[irc][renderer][away]") {
    using namespace chatroom::irc;
    auto cfg = std::make_shared<const detail::config>(chatroom::irc_options{});
    detail::connection with(cfg), without(cfg);
    with.state().registered = without.state().registered = true;
    with.state().caps = away_notify;
    auto away = event(chatroom::room_event_kind::away);
    away.text = "lunch";
    // Worded per member (not by the shared renderer), and by nobody else.
    CHECK(&with.shared_for(away) == &with);
    CHECK(lines_of(with.render(away)) == std::vector<std::string>{":bob!bob@chatroom.irc AWAY :lunch"});
    CHECK(without.render(away).empty());
    // The same event from a second shared room: said once.
    away.room = "ops";
    CHECK(with.render(away).empty());
    // Back: AWAY with no parameter.
    away.text.clear();
    CHECK(lines_of(with.render(away)) == std::vector<std::string>{":bob!bob@chatroom.irc AWAY"});
    // The JOIN of a member who is away: JOIN then AWAY with the cap, JOIN alone without.
    auto joined = event(chatroom::room_event_kind::joined);
    joined.text = "gone";
    CHECK(&with.shared_for(joined) == &with);
    CHECK(lines_of(with.render(joined)) ==
          std::vector<std::string>{":bob!bob@chatroom.irc JOIN #dev", ":bob!bob@chatroom.irc AWAY :gone"});
    CHECK(lines_of(without.render(joined)) == std::vector<std::string>{":bob!bob@chatroom.irc JOIN #dev"});
    joined.text.clear();
    CHECK(&with.shared_for(joined) == &with.events());
    // Other dialects show nothing of it: the base renderer's render (the
    // line protocol's for every kind but chat).
    struct line_like final : chatroom::renderer {
        std::size_t framed_size(std::size_t n) const noexcept override { return n + 2; }
        char* frame(char* out, std::string_view, std::string_view) const noexcept override { return out; }
        std::string wording(const chatroom::reply&) const override { return {}; }
    };
    away.text = "lunch";
    CHECK(line_like().render(away).empty());
    CHECK(chatroom::renderer::event_text(away).empty());
    joined.text = "gone"; // the line protocol's join reads as always
    CHECK(chatroom::renderer::event_text(joined) == "* bob joined");
}
