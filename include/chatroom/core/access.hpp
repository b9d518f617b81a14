#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// @file
/// Who may do what: the host program's hooks into admission, login and each
/// member's actions, its custom commands, and the snapshots it reads the
/// rooms by (docs/protocol.md, "Accounts and moderation").
namespace chatroom {

/// A name as the server compares it (folded, the key) and as the member
/// typed it (shown). It converts to its folded form, so a 2.x hook taking a
/// std::string_view still compiles, and is now handed the folded name.
///
/// Names are unique case-insensitively (protocol::fold_case: A-Z as a-z), so
/// every hook that is handed a name is handed it folded too, and should look
/// it up by the folded form: a table keyed by "alice" must answer for "ALICE"
/// and "Alice" as well, or those spellings would pass for another account.
struct name_ref {
    std::string_view folded; ///< protocol::fold_case of the name: the key
    std::string_view shown;  ///< as the member typed it

    operator std::string_view() const noexcept { return folded; } ///< the folded name
};

/// A yes, or a no with the reason the member is shown ("! reason").
struct verdict {
    bool allowed = true; ///< false: refused
    std::string reason;  ///< a refusal's; empty: "not admitted" (admit), "not permitted" (authorize)

    static verdict allow() { return {}; }                                      ///< a yes
    static verdict refuse(std::string why) { return {false, std::move(why)}; } ///< a no, shown as "! why"
};

/// A connection before it is a member.
struct peer_info {
    std::string address;             ///< canonical (chatroom::canonical_address); empty for Unix sockets
    std::string transport;           ///< "tcp", "unix", "tls", "web"
    std::string certificate_subject; ///< TLS with client certificates: the verified subject
};

/// A member as the host sees it: a snapshot, safe to keep.
struct member_info {
    std::string nick;      ///< its nick now
    std::string account;   ///< empty for guests
    std::string room;      ///< the room it uses (the last it joined); empty before login when login is required (and from a banned address)
    std::vector<std::string> rooms; ///< every room it is in (one for the line protocol; IRC and browsers join several)
    std::string address;   ///< as peer_info::address
    std::string transport; ///< as peer_info::transport
    std::chrono::system_clock::time_point connected_since{}; ///< when it connected
    bool op = false;       ///< its account has the operator role (login_result::op)
    bool muted = false;    ///< an operator muted it: its lines are refused ("! you are muted")
};

/// A room as the host sees it (basic_server::rooms): a snapshot.
struct room_info {
    std::string name;        ///< the room's own spelling
    std::size_t members = 0; ///< members in it on this server
    std::string topic;       ///< empty: none
};

/// /login NAME SECRET. The verifier is called with no server lock held; it
/// calls done exactly once, from any thread, now or later (a password hash is
/// slow on purpose: do it on a worker, never on the server's threads). The
/// member's lines after its /login wait for done (nothing more is read from
/// it meanwhile), then run in order, as the account if it logged in.
struct login_request {
    std::string name;    ///< as typed
    std::string secret;  ///< the rest of the /login line
    std::string address; ///< the member's, as peer_info::address
    std::string folded_name = {}; ///< name folded (protocol::fold_case): look the account up by this
};
/// The verifier's answer, handed to done.
struct login_result {
    /// The reason a refusal gives when the verifier names none.
    static constexpr std::string_view default_reason = "wrong name or secret";

    bool ok = false;     ///< accepted: the member logs in as the account (but see access_hooks::verify)
    bool op = false;     ///< the account has the operator role
    std::string reason;  ///< shown when !ok; default "wrong name or secret"
    std::string account; ///< the account's own spelling of its name; empty: as typed
    /// Whether a refusal counts toward the address's failed-login limit (not
    /// for "server busy": that says nothing about the secret, and the login
    /// gets back the charge it made when it started).
    bool counts_as_failure = true;
};
/// Checks a /login: calls done once with the answer (see login_request).
using login_verifier = std::function<void(login_request, std::function<void(login_result)> done)>;

/// What a member is about to do, for the authorizer.
enum class action_kind {
    join, ///< enter room
    say,  ///< a chat line or /me in room
};
/// What authorize is asked about: a member's join or line.
struct action {
    action_kind kind;      ///< what the member is about to do
    std::string_view room; ///< as typed in /join, or the room's own spelling
    std::string_view text; ///< say: the line (a /me's without "/me "); join: empty
    std::string_view folded_room = {}; ///< room folded (protocol::fold_case): compare rooms by this
};

/// admit, is_registered and authorize run on the server's threads with its
/// lock held: keep them short and call nothing of the server's from them
/// (verify runs with no lock held, see login_verifier). What one throws is caught,
/// reported as an error event ("access hook NAME threw: WHAT") and taken as
/// a refusal: admit and authorize refuse with "! server error", a throwing
/// is_registered counts the name as registered, a throwing verify refuses
/// the login with "! server error" (not counted as a failed login). None is
/// called once ~basic_server has returned or async_stop has completed (the
/// same answers then, with no event).
struct access_hooks {
    /// At connect, before the welcome; a refusal closes the connection.
    std::function<verdict(const peer_info&)> admit;
    /// /login; without it, /login answers "! logins are not enabled". One
    /// connection per account: a login the verifier accepts for an account
    /// that another member is logged in to (on this server or, with a shared
    /// room log, another) is refused, "! NAME is logged in elsewhere", and the
    /// first keeps it; a guest merely holding the name gives the name up.
    login_verifier verify;
    /// Whether a name belongs to an account, so no guest and no /nick may take
    /// it. Answer for name.folded: the server asks for every spelling.
    std::function<bool(const name_ref& name)> is_registered;
    /// Before each join and each line said; a refusal is shown to the member
    /// alone. Compare rooms by action.folded_room.
    std::function<verdict(const member_info&, const action&)> authorize;
    /// Until it has logged in a member is in no room, and every line but
    /// /login, /help and /quit gets "! log in first: /login NAME SECRET".
    bool require_login = false;
    /// Failed logins one address may make per minute; more are refused
    /// unchecked. A login counts when it starts, so checks under way count
    /// too; one that succeeds does not.
    std::size_t failed_logins_per_minute = 5;
    /// Logins from one address being checked at once; more are refused
    /// unchecked ("! too many logins under way from your address"), not
    /// queued. 0: no bound.
    std::size_t logins_under_way_per_address = 2;
};

/// The caller of a custom command, and what the handler may do about it.
class command_call {
public:
    /// The server makes one for each call (so may a test of a handler).
    command_call(member_info caller, std::string args) : caller_(std::move(caller)), args_(std::move(args)) {}

    const member_info& caller() const noexcept { return caller_; } ///< who typed /NAME
    const std::string& args() const noexcept { return args_; }     ///< what followed /NAME, trimmed

    /// "* text" to the caller alone.
    void reply(std::string text) { replies_.push_back(std::move(text)); }
    /// "<nick> text" from the caller to its room.
    void say(std::string text) { says_.push_back(std::move(text)); }
    /// "! reason" to the caller alone; nothing else the handler asked for is sent.
    void refuse(std::string reason) { refusal_ = std::move(reason); }

    const std::vector<std::string>& replies() const noexcept { return replies_; } ///< reply()'s texts, in order
    const std::vector<std::string>& says() const noexcept { return says_; }       ///< say()'s texts, in order
    const std::string& refusal() const noexcept { return refusal_; }              ///< refuse()'s; empty: none

private:
    member_info caller_;
    std::string args_;
    std::vector<std::string> replies_, says_;
    std::string refusal_;
};

/// Runs on a server thread with no server lock held; keep it short. If it
/// throws, nothing it asked for is sent: the caller gets "! command failed"
/// and the host an error event ("command /NAME threw: WHAT", nick: the
/// caller). Not called once ~basic_server has returned.
using command_handler = std::function<void(command_call&)>;

} // namespace chatroom
