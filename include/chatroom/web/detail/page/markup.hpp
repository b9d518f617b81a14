#pragma once

// The chat page's markup: the head up to the title, and the body's elements
// (header, status line, room list with the join form, the log and the input,
// member list). The script finds them by id; the style by id and element.
//
// Raw text, copied into the page as it is (web/detail/page.hpp): keep it ASCII,
// free of two blank lines in a row and of `#include <chatroom/...>` lines
// (scripts/amalgamate.py rewrites both).
namespace chatroom::detail::page_text {

inline constexpr char head[] = R"chatroom(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<title>chatroom</title>
)chatroom";

inline constexpr char body[] = R"chatroom(</head>
<body>
<header><h1 id="srv">chatroom</h1><span id="room"></span><span id="me">you are <span id="nick">&hellip;</span></span><button id="nb" aria-pressed="false" title="Notify me of mentions and private messages while this tab is in the background" hidden>Notify</button><button id="mb" aria-expanded="false">Rooms</button></header>
<div id="status" data-state="connecting" role="status">connecting&hellip;</div>
<div id="wrap">
<nav aria-label="Rooms"><h2>Rooms</h2><ul id="rooms"></ul><form id="jf" autocomplete="off"><label for="jr">Join a room</label><input id="jr" placeholder="room" autocapitalize="off"><button>Join</button></form></nav>
<main>
<form id="lf" autocomplete="off" hidden><label for="ln">Pick a nick:</label><input id="ln" autocapitalize="off"><span id="lw" hidden><label for="lp">Password:</label><input id="lp" type="password" autocomplete="current-password"></span><button>Start</button></form>
<div id="log" role="log" aria-live="polite" aria-label="Messages" tabindex="0"></div>
<button id="nm" hidden>New messages below</button>
<form id="f" autocomplete="off"><label class="sr" for="i">Message</label><input id="i" placeholder="Message, or /help" enterkeyhint="send" autocapitalize="off" autofocus><button>Send</button></form>
</main>
<aside aria-label="Members"><h2>Members</h2><ul id="mem"></ul></aside>
</div>
)chatroom";

} // namespace chatroom::detail::page_text
