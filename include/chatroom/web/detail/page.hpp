#pragma once

#include <string_view>

// The chat page the web listener serves at GET /: one self-contained HTML
// document (inline style and script, no external resources) that speaks the
// line protocol over a WebSocket at /ws, one text message per line.
//
// The page is sent with web_page_csp as its Content-Security-Policy. That
// policy allows exactly this inline <style> and <script> by their SHA-256
// hashes, so any edit of the page must update the hashes too;
// tests/web/test_web_page.py checks them (and prints the right policy with
// --print-csp). Keep the page free of two blank lines in a row and of
// `#include <chatroom/...>` lines: scripts/amalgamate.py rewrites both, which
// would change the hashed text in the single header.
namespace chatroom::detail {

inline constexpr std::string_view web_page_html = R"chatroom(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<title>chatroom</title>
<style>
:root{--bg:#f6f7f9;--fg:#1c1e22;--dim:#6b7280;--bar:#fff;--rule:#e3e5ea;--err:#c62828;--priv:#fff3cd;--privb:#e0a800;--acc:#2563eb;--nl:36%;--wait:#fff4e5;--waitf:#8a4b00}
@media (prefers-color-scheme:dark){:root{--bg:#15171b;--fg:#e4e6ea;--dim:#8c94a3;--bar:#1e2126;--rule:#2d313a;--err:#ff6b6b;--priv:#3a3115;--privb:#c9a227;--acc:#6ea8fe;--nl:70%;--wait:#3a2a12;--waitf:#ffc46b}}
*{box-sizing:border-box}
html,body{height:100%;margin:0}
body{display:flex;flex-direction:column;height:100vh;height:100dvh;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{display:flex;align-items:baseline;gap:.7em;padding:.6em 1em;padding-top:max(.6em,env(safe-area-inset-top));background:var(--bar);border-bottom:1px solid var(--rule);white-space:nowrap}
#srv{font-weight:700;overflow:hidden;text-overflow:ellipsis;max-width:40%}
#room{color:var(--acc);font-weight:600;overflow:hidden;text-overflow:ellipsis}
#room:before{content:"#"}
#me{margin-left:auto;color:var(--dim);overflow:hidden;text-overflow:ellipsis}
#nick{color:var(--fg);font-weight:600}
#status{padding:.35em 1em;font-size:.9em;background:var(--wait);color:var(--waitf);border-bottom:1px solid var(--rule);cursor:pointer}
#status[data-state=open]{display:none}
#log{flex:1;overflow-y:auto;padding:.5em 1em;white-space:pre-wrap;overflow-wrap:anywhere;overscroll-behavior:contain}
.l{display:flex;gap:.6em;padding:1px 0}
.t{flex:none;color:var(--dim);font-size:.78em;line-height:1.9;font-variant-numeric:tabular-nums;user-select:none}
.m{flex:1;min-width:0}
.n{font-weight:600;color:hsl(var(--h,210),62%,var(--nl))}
.p{color:var(--dim)}
.notice,.cmd{color:var(--dim)}
.cmd .m{font-style:italic}
.err{color:var(--err)}
.priv .m{background:var(--priv);box-shadow:inset 3px 0 var(--privb);padding:0 .4em 0 .6em;border-radius:3px}
.sys .m{color:var(--dim);font-size:.85em;text-align:center}
form{display:flex;gap:.5em;padding:.6em 1em;padding-bottom:max(.6em,env(safe-area-inset-bottom));background:var(--bar);border-top:1px solid var(--rule)}
input{flex:1;min-width:0;font:inherit;font-size:16px;padding:.5em .75em;border:1px solid var(--rule);border-radius:8px;background:var(--bg);color:var(--fg)}
input:focus{outline:2px solid var(--acc);outline-offset:-1px}
button{font:inherit;font-weight:600;padding:.5em 1.1em;border:0;border-radius:8px;background:var(--acc);color:#fff;cursor:pointer}
</style>
</head>
<body>
<header><span id="srv">chatroom</span><span id="room">&hellip;</span><span id="me">you are <span id="nick">&hellip;</span></span></header>
<div id="status" data-state="connecting" role="status">connecting&hellip;</div>
<main id="log" role="log" aria-live="polite"></main>
<form id="f" autocomplete="off"><input id="i" aria-label="message" placeholder="Message, or /help" enterkeyhint="send" autocapitalize="off" autofocus><button>Send</button></form>
<script>
'use strict';
(() => {
  const $ = id => document.getElementById(id);
  const log = $('log'), form = $('f'), input = $('i'), status = $('status');
  const MAX_LINES = 2000, BASE_MS = 500, CAP_MS = 15000;
  let ws = null, nick = '', wantNick = '', wantRoom = '';
  let welcomed = false, afterWelcome = false, expectJoin = 0, opened = false;
  let attempt = 0, timer = 0, ticker = 0, quitting = false, dropped = false;
  let pending = [], drawing = false;
  const typed = [];
  let hpos = 0;
  // Names are ASCII and compared ignoring case, like the server does.
  const fold = s => s.toLowerCase();
  // FNV-1a, then a final mix so nicks that differ in their last character
  // (guest-1, guest-2) get far-apart hues; the same nick gets the same
  // colour in every browser.
  const hue = s => {
    let h = 2166136261;
    for (const c of fold(s)) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
    h = Math.imul(h ^ h >>> 16, 2246822507);
    h = Math.imul(h ^ h >>> 13, 3266489909);
    return ((h ^ h >>> 16) >>> 0) % 360;
  };
  const span = (cls, text) => {
    const e = document.createElement('span');
    e.className = cls;
    e.textContent = text;
    return e;
  };
  const who = n => {
    const e = span('n', n);
    e.style.setProperty('--h', hue(n));
    return e;
  };
  // Builds one line's content. Every part is set with textContent, so a
  // line holding markup shows it literally.
  const parts = line => {
    let r;
    if ((r = /^<([^<> ]+)> ([\s\S]*)$/.exec(line))) return ['chat', span('p', '<'), who(r[1]), span('p', '> '), span('', r[2])];
    if ((r = /^\*([^* ]+)\* ([\s\S]*)$/.exec(line))) return ['priv', span('p', '*'), who(r[1]), span('p', '* '), span('', r[2])];
    if (line.startsWith('! ')) return ['err', span('', line)];
    if ((r = /^\* (\S+) (joined|left)( \(.*\))?$/.exec(line))) return ['notice', span('', '* '), who(r[1]), span('', ' ' + r[2] + (r[3] || ''))];
    if ((r = /^\* (\S+) is now known as (\S+)$/.exec(line))) return ['notice', span('', '* '), who(r[1]), span('', ' is now known as '), who(r[2])];
    return [line.startsWith('* ') ? 'notice' : 'chat', span('', line)];
  };
  const add = (line, kind) => {
    pending.push([line, kind, new Date()]);
    // Hidden tabs get no frames: what waits is trimmed, in amortized O(1).
    if (pending.length > 2 * MAX_LINES) pending = pending.slice(-MAX_LINES);
    if (!drawing) {
      drawing = true;
      requestAnimationFrame(draw);
    }
  };
  // Lines are drawn once per frame, so a burst costs one layout, not one each.
  const draw = () => {
    drawing = false;
    const stick = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
    const frag = document.createDocumentFragment();
    for (const [line, kind, at] of pending.slice(-MAX_LINES)) {
      const [cls, ...content] = kind === 'sys' ? ['sys', span('', line)] : parts(line);
      const row = document.createElement('div');
      row.className = 'l ' + (kind || cls);
      const m = document.createElement('span');
      m.className = 'm';
      m.append(...content);
      row.append(span('t', at.toTimeString().slice(0, 5)), m);
      frag.append(row);
    }
    pending = [];
    log.append(frag);
    while (log.childElementCount > MAX_LINES) log.firstElementChild.remove();
    if (stick) log.scrollTop = log.scrollHeight;
  };
  const show = (state, text) => {
    status.dataset.state = state;
    status.textContent = text;
  };
  const setNick = n => { nick = n; $('nick').textContent = n; };
  const setRoom = r => {
    $('room').textContent = r;
    document.title = '#' + r + ' \u2013 ' + $('srv').textContent;
  };
  const send = text => {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(text);
    return true;
  };
  // Tracks who and where we are from the server's own lines. Replies that
  // anyone could imitate with /me are believed only when one is expected.
  const track = line => {
    let r;
    if (!welcomed && (r = /^\* welcome to (.*), you are (\S+)$/.exec(line))) {
      welcomed = afterWelcome = true;
      expectJoin = 1;
      attempt = 0;
      $('srv').textContent = r[1];
      setNick(r[2]);
      if (wantNick && wantNick !== r[2]) send('/nick ' + wantNick);
    } else if (expectJoin && (r = /^\* joined (\S+) \(\d+ members?\)$/.exec(line))) {
      expectJoin--;
      setRoom(r[1]);
      if (afterWelcome && wantRoom && fold(wantRoom) !== fold(r[1])) {
        if (send('/join ' + wantRoom)) expectJoin++;
      } else {
        wantRoom = r[1];
      }
      afterWelcome = false;
    } else if ((r = /^\* (\S+) is now known as (\S+)$/.exec(line)) && r[1] === nick) {
      setNick(wantNick = r[2]);
    } else if (expectJoin && /^(\* you are already in |! bad room name)/.test(line)) {
      expectJoin--;
    } else if (line.startsWith('! disconnected: ')) {
      dropped = true; // dropped on purpose (idle, too slow): do not come straight back
    }
  };
  const connect = () => {
    clearTimeout(timer);
    clearInterval(ticker);
    timer = 0;
    quitting = dropped = welcomed = afterWelcome = false;
    expectJoin = 0;
    show('connecting', 'connecting\u2026');
    const s = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
    ws = s;
    // A server that accepts but never answers must not leave the page waiting.
    setTimeout(() => { if (s.readyState === WebSocket.CONNECTING) s.close(); }, 10000);
    s.onopen = () => {
      if (ws !== s) return;
      show('open', 'connected');
      if (opened) add('reconnected', 'sys');
      opened = true;
    };
    s.onmessage = e => {
      if (ws !== s || typeof e.data !== 'string') return;
      for (const line of e.data.split(/\r?\n/)) {
        if (!line) continue;
        track(line);
        add(line);
      }
    };
    s.onclose = () => {
      if (ws !== s) return;
      ws = null;
      if (welcomed) add('connection closed', 'sys');
      if (quitting || dropped) show('closed', 'disconnected \u00b7 Send or tap here to connect again');
      else retry();
    };
  };
  // Exponential backoff with +-30 % jitter, so a restarted server is not
  // hit by every page at the same instant.
  const retry = () => {
    const delay = Math.min(CAP_MS, BASE_MS * 2 ** Math.min(attempt, 10)) * (0.7 + 0.6 * Math.random());
    attempt++;
    const at = Date.now() + delay;
    const tick = () => show('wait', 'reconnecting in ' + Math.max(1, Math.ceil((at - Date.now()) / 1000)) + ' s\u2026 \u00b7 retry now');
    tick();
    ticker = setInterval(tick, 250);
    timer = setTimeout(connect, delay);
  };
  form.addEventListener('submit', e => {
    e.preventDefault();
    if (!ws) { // the typed text stays in the input, to be sent once connected
      connect();
      return;
    }
    const lines = input.value.split(/\r?\n/).filter(l => l.trim());
    if (!lines.length || ws.readyState !== WebSocket.OPEN) return;
    for (const line of lines) {
      send(line);
      if (/^\/quit(\s|$)/i.test(line)) quitting = true;
      else if (/^\/join(\s|$)/i.test(line)) expectJoin++;
      // The server does not echo one's own chat; commands are shown as typed.
      const me = /^\/me\s+(\S[\s\S]*)$/i.exec(line);
      if (line[0] !== '/' || line[1] === '/') add('<' + nick + '> ' + (line[0] === '/' ? line.slice(1) : line), 'chat self');
      else if (me) add('* ' + nick + ' ' + me[1].trim(), 'notice self');
      else add(line, 'cmd');
    }
    typed.push(input.value);
    if (typed.length > 100) typed.shift();
    hpos = typed.length;
    input.value = '';
  });
  input.addEventListener('keydown', e => {
    if (e.key !== 'ArrowUp' && e.key !== 'ArrowDown') return;
    hpos = Math.max(0, Math.min(typed.length, hpos + (e.key === 'ArrowUp' ? -1 : 1)));
    input.value = typed[hpos] || '';
    e.preventDefault();
  });
  // Send, a tap on the status line or the network coming back retry at once.
  status.addEventListener('click', () => { if (!ws) connect(); });
  addEventListener('online', () => { if (timer) connect(); });
  connect();
})();
</script>
</body>
</html>
)chatroom";

inline constexpr std::string_view web_page_csp = "default-src 'none'; connect-src 'self'; img-src 'self' data:; "
                                                 "style-src 'sha256-5ft2FGSRvV+aqWKCoIt/q5ET4cMC11Y2Ulq5bY5UBMU='; "
                                                 "script-src 'sha256-dAROZuUAFb/S2rDup6xGfdQaP/RMv7C+hllfuqXtJ1s='; "
                                                 "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

} // namespace chatroom::detail
