#pragma once

#include <string_view>

// The chat page the web listener serves at GET /: one self-contained HTML
// document (inline style and script, no external resources) that speaks the
// JSON dialect (subprotocol chatroom.v1, docs/web-protocol.md) over a
// WebSocket at /ws. It keeps several rooms joined at once (a room list with
// unread counts and a mention marker, a member list per room, private
// conversations as their own entries), asks for a nick on the first visit,
// remembers nick and rooms in localStorage and rejoins them after a reload or
// a reconnect, and turns typed /commands into JSON commands. History: "Load
// older" pages back with `history` `before` the oldest id shown; after a
// reconnect the page asks `history` `after` the last id it has in each room,
// places what comes by id, and shows no event twice (keyed by id and time);
// `some_missing` becomes a visible marker. The page asks for its own lines
// back (`echo`) and draws each one when the server sends it, with its id and
// time, in the room's order: never a guess of which event a line became.
// A pane keeps at most MAX_LINES rows: past that, rows go from the end
// farther from what is being read (the oldest while reading the newest; the
// newest after "Load older", which then offers "Show newest messages"),
// and the view stays where it was. Notifications (mentions, private
// messages, while the tab is in the background) only after a click on Notify.
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
:root{--bg:#f6f7f9;--fg:#1c1e22;--dim:#575e6b;--bar:#fff;--rule:#d5d8de;--err:#b71c1c;--hl:#fff1c2;--hlb:#b7791f;--acc:#1d4ed8;--btn:#1d4ed8;--sel:#eaeffa;--nl:24%;--wait:#fff4e5;--waitf:#7a4200}
@media (prefers-color-scheme:dark){:root{--bg:#15171b;--fg:#e4e6ea;--dim:#9aa1ae;--bar:#1e2126;--rule:#353a44;--err:#ff8a80;--hl:#2b2412;--hlb:#d4a72c;--acc:#8cb4ff;--btn:#1d4ed8;--sel:#1f242c;--nl:74%;--wait:#3a2a12;--waitf:#ffd08a}}
*{box-sizing:border-box}
[hidden]{display:none!important}
html,body{height:100%;margin:0}
body{display:flex;flex-direction:column;height:100vh;height:100dvh;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{display:flex;align-items:center;gap:.7em;padding:.45em 1em;padding-top:max(.45em,env(safe-area-inset-top));background:var(--bar);border-bottom:1px solid var(--rule);white-space:nowrap}
h1{font-size:1em;margin:0;overflow:hidden;text-overflow:ellipsis;max-width:30%}
h2{font-size:.8em;text-transform:uppercase;letter-spacing:.05em;color:var(--dim);margin:.8em .8em .3em}
#room{color:var(--acc);font-weight:600;overflow:hidden;text-overflow:ellipsis}
#me{margin-left:auto;color:var(--dim);overflow:hidden;text-overflow:ellipsis}
#nick{color:var(--fg);font-weight:600}
#status{padding:.35em 1em;font-size:.9em;background:var(--wait);color:var(--waitf);border-bottom:1px solid var(--rule);cursor:pointer}
#status[data-state=open]{display:none}
#wrap{flex:1;display:flex;min-height:0}
nav,aside{flex:none;width:12em;overflow-y:auto;background:var(--bar);border-right:1px solid var(--rule)}
aside{border:0;border-left:1px solid var(--rule)}
ul{list-style:none;margin:0;padding:0}
#rooms li{display:flex;align-items:center}
#rooms li.cur{background:var(--sel)}
#rooms .go{flex:1;display:flex;gap:.4em;background:none;color:var(--fg);font-weight:400;text-align:left;padding:.35em .8em;border-radius:0;min-width:0}
#rooms .cur .go{font-weight:700}
.go span:first-child{flex:1;overflow:hidden;text-overflow:ellipsis}
.u,.at{border-radius:1em;padding:0 .45em;font-size:.8em;font-weight:700;background:var(--fg);color:var(--bg)}
.at{background:var(--err)}
.u:empty,.at:empty{display:none}
#rooms .x{background:none;color:var(--dim);padding:.2em .6em}
#jf,#lf{display:flex;flex-wrap:wrap;gap:.3em;padding:.5em .8em}
#jf label,#lf label{width:100%;font-size:.85em;color:var(--dim)}
#lf{background:var(--hl);border-bottom:1px solid var(--rule);padding:.6em 1em}
#lf label{width:auto;align-self:center;color:var(--fg)}
#mem li{padding:.15em .8em;overflow:hidden;text-overflow:ellipsis}
main{flex:1;display:flex;flex-direction:column;min-width:0;position:relative}
.day{text-align:center;color:var(--dim);font-size:.8em;font-weight:600;margin:.6em 0 .2em;border-bottom:1px solid var(--rule)}
#nm{position:absolute;left:50%;bottom:4.4em;transform:translateX(-50%);box-shadow:0 1px 5px #0005}
#log{flex:1;overflow-y:auto;padding:.5em 1em;white-space:pre-wrap;overflow-wrap:anywhere;overscroll-behavior:contain}
.l{display:flex;gap:.6em;padding:1px .3em;border-radius:3px}
.t{flex:none;color:var(--dim);font-size:.78em;line-height:1.9;font-variant-numeric:tabular-nums}
.m{flex:1;min-width:0}
.n{font-weight:600;color:hsl(var(--h),80%,var(--nl))}
.p{color:var(--dim)}
.act .m{font-style:italic}
.sys .m{color:var(--dim);font-size:.88em}
.sys .m:before{content:"\2192  ";font-style:normal}
.self{background:var(--sel)}
.err .m{color:var(--err);font-weight:600}
.hl,.priv{background:var(--hl);box-shadow:inset 3px 0 var(--hlb)}
a{color:var(--acc)}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
#f{display:flex;gap:.5em;padding:.6em 1em;padding-bottom:max(.6em,env(safe-area-inset-bottom));background:var(--bar);border-top:1px solid var(--rule)}
input{flex:1;min-width:0;font:inherit;font-size:16px;padding:.4em .7em;border:1px solid var(--dim);border-radius:8px;background:var(--bg);color:var(--fg)}
:focus-visible{outline:2px solid var(--acc);outline-offset:-1px}
button{font:inherit;font-weight:600;padding:.4em 1em;border:0;border-radius:8px;background:var(--btn);color:#fff;cursor:pointer}
#mb,#nb{display:none;background:none;color:var(--acc);padding:.2em .4em}
#nb{display:block;font-weight:400}
#nb[aria-pressed=true]{font-weight:700}
#nb[aria-pressed=true]:before{content:"\2713  "}
@media (max-width:700px){nav,aside{display:none}#mb{display:block}body.side nav,body.side aside{display:block;width:50%}body.side main{display:none}#me{display:none}#nb{margin-left:auto}}
.top{text-align:center;color:var(--dim);font-size:.85em;padding:.2em}
.gap{border-top:2px dashed var(--err)}
.gap .m{color:var(--err)}
.top button{background:none;color:var(--acc);font-weight:400;padding:.2em .6em}
@media (forced-colors:active){.hl,.priv,.self{border:1px solid Highlight}}
</style>
</head>
<body>
<header><h1 id="srv">chatroom</h1><span id="room"></span><span id="me">you are <span id="nick">&hellip;</span></span><button id="nb" aria-pressed="false" title="Notify me of mentions and private messages while this tab is in the background" hidden>Notify</button><button id="mb" aria-expanded="false">Rooms</button></header>
<div id="status" data-state="connecting" role="status">connecting&hellip;</div>
<div id="wrap">
<nav aria-label="Rooms"><h2>Rooms</h2><ul id="rooms"></ul><form id="jf" autocomplete="off"><label for="jr">Join a room</label><input id="jr" placeholder="room" autocapitalize="off"><button>Join</button></form></nav>
<main>
<form id="lf" autocomplete="off" hidden><label for="ln">Pick a nick:</label><input id="ln" autocapitalize="off"><button>Start</button></form>
<div id="log" role="log" aria-live="polite" aria-label="Messages" tabindex="0"></div>
<button id="nm" hidden>New messages below</button>
<form id="f" autocomplete="off"><label class="sr" for="i">Message</label><input id="i" placeholder="Message, or /help" enterkeyhint="send" autocapitalize="off" autofocus><button>Send</button></form>
</main>
<aside aria-label="Members"><h2>Members</h2><ul id="mem"></ul></aside>
</div>
<script>
'use strict';
(() => {
  const $ = id => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const log = $('log'), input = $('i'), status = $('status');
  const MAX_LINES = 2000, BASE_MS = 500, CAP_MS = 15000, PAGE = 50;
  // Names are ASCII and compared ignoring case, like the server does.
  const fold = s => s.toLowerCase();
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem('chatroom') || '{}') || {}; } catch (e) { saved = {}; }
  let ws = null, me = '', wantNick = saved.nick || '', wantRooms = saved.rooms || null, wantCur = saved.cur || '';
  if (location.hash.length > 1) {
    wantCur = decodeURIComponent(location.hash.slice(1));
    wantRooms = (wantRooms || ['lobby']).filter(n => fold(n) !== fold(wantCur)).concat([wantCur]);
  }
  let opened = false, welcomed = false, attempt = 0, timer = 0, ticker = 0, quitting = false, dropped = false;
  let notify = !!saved.notify && !!window.Notification && Notification.permission === 'granted';
  let restoring = false, nickTries = 0, partLobby = false, switchTo = '', showWho = 0, noHistory = false, probed = false;
  const rooms = new Map();
  let cur = null;
  const typed = [];
  let hpos = 0;
  const save = () => {
    try {
      localStorage.setItem('chatroom', JSON.stringify({
        nick: me && !/^guest-\d+$/.test(me) ? me : wantNick,
        rooms: Array.from(rooms.values()).filter(r => !r.priv && r.joined).map(r => r.name),
        cur: cur && !cur.priv ? cur.name : '', notify}));
    } catch (e) { /* storage may be off: the page still works */ }
  };
  // FNV-1a, then a final mix; the same nick gets the same colour everywhere.
  // 12 hues at a lightness that keeps 4.5:1 against both themes' background.
  const hue = s => {
    let h = 2166136261;
    for (const c of fold(s)) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
    h = Math.imul(h ^ h >>> 16, 2246822507);
    h = Math.imul(h ^ h >>> 13, 3266489909);
    return ((h ^ h >>> 16) >>> 0) % 12 * 30;
  };
  const who = n => {
    const e = el('span', 'n', n);
    e.style.setProperty('--h', hue(n));
    return e;
  };
  // Text with http(s) links; everything set as text, never as markup.
  const rich = text => {
    const x = el('span', 'x');
    x.dir = 'auto';
    let at = 0, m;
    const re = /\bhttps?:\/\/[^\s<>"]+/g;
    while ((m = re.exec(text))) {
      const u = m[0].replace(/[.,;:!?)\]'"]+$/, '');
      x.append(text.slice(at, m.index));
      const a = el('a', '', u);
      a.href = u;
      a.rel = 'noopener noreferrer';
      a.target = '_blank';
      x.append(a);
      at = m.index + u.length;
      re.lastIndex = at;
    }
    x.append(text.slice(at));
    return x;
  };
  const away = () => document.hidden || !document.hasFocus();
  // A mention or a private message while away, once the user turned it on.
  const ping = (r, row) => {
    if (!notify || !away()) return;
    try {
      const n = new Notification(r.priv ? r.name + ' (private)' : r.label, {body: row.querySelector('.m').textContent, tag: r.key});
      n.onclick = () => { focus(); select(r); n.close(); };
    } catch (e) { /* some browsers allow them only from a service worker */ }
  };
  const esc = s => s.replace(/[\\^$.*+?()[\]{}|-]/g, '\\$&');
  const mentions = text => me && new RegExp('(^|[^\\w-])' + esc(me) + '(?![\\w-])', 'i').test(text);
  const setTitle = () => {
    let n = 0;
    for (const r of rooms.values()) n += r.unread;
    $('mb').textContent = n ? 'Rooms (' + n + ')' : 'Rooms';
    document.title = (n ? '(' + n + ') ' : '') + (cur ? (cur.priv ? '' : '#') + cur.name + ' \u2013 ' : '') + $('srv').textContent;
  };
  const badge = r => {
    r.li.querySelector('.u').textContent = r.unread || '';
    r.li.querySelector('.at').textContent = r.mention ? '@' : '';
    r.li.querySelector('.go').setAttribute('aria-label', r.label + (r.unread ? ', ' + r.unread + ' unread' : '') + (r.mention ? ', mentioned' : ''));
    setTitle();
  };
  const showMembers = () => {
    const ul = $('mem');
    ul.textContent = '';
    if (!cur) return;
    for (const n of Array.from(cur.members).sort((a, b) => fold(a) < fold(b) ? -1 : 1)) {
      const li = el('li');
      li.append(who(n));
      ul.append(li);
    }
  };
  const select = r => {
    if (!r) return;
    if (cur) cur.pane.hidden = true;
    if (cur && cur.li) cur.li.classList.remove('cur');
    cur = r;
    r.pane.hidden = false;
    r.li.classList.add('cur');
    r.li.querySelector('.go').setAttribute('aria-current', 'true');
    for (const o of rooms.values()) if (o !== r) o.li.querySelector('.go').removeAttribute('aria-current');
    r.unread = 0;
    r.mention = false;
    badge(r);
    $('room').textContent = r.label;
    showMembers();
    log.scrollTop = log.scrollHeight;
    $('nm').hidden = true;
    cutline();
    document.body.classList.remove('side');
    $('mb').setAttribute('aria-expanded', false);
    if (!r.priv) history.replaceState(null, '', '#' + r.name);
    save();
  };
  // Ids of one room ("17", or "1796570258123-0" in a cluster), compared as numbers.
  const idCmp = (a, b) => {
    const x = a.split('-'), y = b.split('-');
    for (let i = 0; i < 2; i++) {
      const p = x[i] || '', q = y[i] || '';
      if (p.length !== q.length) return p.length - q.length;
      if (p !== q) return p < q ? -1 : 1;
    }
    return 0;
  };
  // The top of a pane: "Load older" while the server may have more.
  const topline = r => {
    r.top.textContent = '';
    if (r.priv) return;
    if (r.start || noHistory) r.top.textContent = noHistory ? 'this server keeps no history' : 'start of history';
    else {
      const b = el('button', '', r.loading ? 'loading\u2026' : 'Load older messages');
      b.addEventListener('click', () => older(r));
      r.top.append(b);
    }
  };
  const older = r => {
    if (r.priv || r.start || r.loading || noHistory || !r.joined) return;
    const first = r.pane.querySelector('.l[data-id]');
    const o = {type: 'history', room: r.name, limit: PAGE};
    if (first) o.before = first.dataset.id;
    if (!send(o)) return;
    r.asked.push('older');
    r.loading = true;
    topline(r);
  };
  // The newest event of a room, to ask for what followed it after a reconnect.
  const newest = (r, ev) => {
    if (!r.last || idCmp(ev.id, r.last.id) > 0 || ev.at > r.last.at) r.last = ev;
  };
  const missed = r => {
    if (r.last && !noHistory && send({type: 'history', room: r.name, after: r.last.id, limit: 100})) r.asked.push('after');
  };
  // An event already shown (a replay, a page overlapping what is there)?
  // Keyed with the time too, as a server without a store counts ids anew.
  const seen = (r, id, at) => {
    const k = id + ' ' + at;
    if (r.ids.has(k)) return true;
    r.ids.add(k);
    if (r.ids.size > 5000) for (const x of r.ids) { r.ids.delete(x); if (r.ids.size < 4000) break; }
    return false;
  };
  const room = (name, priv) => {
    const key = (priv ? '@' : '') + fold(name);
    let r = rooms.get(key);
    if (r) return r;
    r = {key, name, priv, label: (priv ? '@' : '#') + name, unread: 0, mention: false, joined: false,
         members: new Set(), ids: new Set(), pane: el('div', 'pane'), li: el('li'), top: el('div', 'top'),
         asked: [], start: false, loading: false, cut: false};
    r.pane.hidden = true;
    r.pane.dataset.room = r.li.dataset.room = r.label;
    r.pane.append(r.top);
    topline(r);
    log.append(r.pane);
    const go = el('button', 'go');
    go.append(el('span', '', r.label), el('span', 'u'), el('span', 'at'));
    go.addEventListener('click', () => { select(r); input.focus(); });
    const x = el('button', 'x', '\u00d7');
    x.setAttribute('aria-label', 'leave ' + r.label);
    x.addEventListener('click', () => leave(r));
    r.li.append(go, x);
    $('rooms').append(r.li);
    rooms.set(key, r);
    badge(r);
    return r;
  };
  const drop = r => {
    rooms.delete(r.key);
    r.pane.remove();
    r.li.remove();
    if (cur === r) { cur = null; select(rooms.values().next().value); }
    save();
  };
  const leave = r => {
    if (!r.priv) send({type: 'part', room: r.name});
    drop(r);
  };
  let pending = [], drawing = false;
  // Rows are appended once per frame, so a burst costs one layout.
  const draw = () => {
    drawing = false;
    const stick = bottom();
    // What is read stays in place: a row at the top of the view is the mark.
    const box = log.getBoundingClientRect();
    const hit = !stick && document.elementFromPoint(box.left + 8, box.top + 8);
    const mark = hit && hit.closest && hit.closest('.l,.day');
    const y = mark ? mark.getBoundingClientRect().top : 0;
    // Which end is far from the reader is judged before the rows go in.
    const upper = !stick && log.scrollTop + log.clientHeight / 2 < log.scrollHeight / 2;
    let below = false;
    for (const [r, row] of pending) {
      // A pane cut short of the present takes no new rows (its unread count does).
      if (r.cut && row.dataset.id) continue;
      below = below || r === cur;
      // In id order: a line fetched after a reconnect goes before the newer
      // ones already replayed. Rows without an id stay where they were put.
      let at = r.pane.lastElementChild;
      if (row.dataset.id)
        while (at.classList.contains('day') || at.dataset.id && idCmp(at.dataset.id, row.dataset.id) > 0 && at.dataset.at >= row.dataset.at) at = at.previousElementSibling;
      at.after(row);
      dated(row);
      trim(r, r === cur && upper);
    }
    pending = [];
    if (stick) log.scrollTop = log.scrollHeight;
    else if (mark && mark.isConnected) log.scrollTop += mark.getBoundingClientRect().top - y;
    if (below && !stick) $('nm').hidden = false;
    cutline();
  };
  // At most MAX_LINES rows a pane: they go from the end farther from the
  // view. The newest (old: the reader is in the older half of the shown
  // pane, it paged back): the pane no longer reaches the present, and its
  // new events wait for "Show newest messages". There the newest event row
  // goes, not a row without an id (an answer such as /who's or an error):
  // dropping the end row would drop the answer just drawn.
  const trim = (r, old) => {
    if (r.pane.childElementCount <= MAX_LINES) return;
    while (r.pane.childElementCount > MAX_LINES) {
      if (old) {
        let l = r.pane.lastElementChild;
        while (l !== r.top && !(l.dataset.id && !l.classList.contains('day'))) l = l.previousElementSibling;
        if (l === r.top) l = r.pane.lastElementChild;
        const p = l.previousElementSibling, n = l.nextElementSibling;
        l.remove();
        if (p.classList.contains('day') && (!n || n.classList.contains('day') || n.day !== p.day)) p.remove();
        r.cut = true;
      } else {
        // The oldest row goes, and its date when no row of that day is left.
        const d = r.top.nextElementSibling, f = d.day && !d.classList.contains('day') ? d : d.nextElementSibling;
        f.remove();
        if (d !== f && (!d.nextElementSibling || d.nextElementSibling.classList.contains('day'))) d.remove();
        if (r.start) { r.start = false; topline(r); }
      }
    }
  };
  // The button under the log: "Show newest messages" while the pane shown
  // was cut short of the present.
  const cutline = () => {
    const c = !!(cur && cur.cut);
    $('nm').textContent = c ? 'Show newest messages' : 'New messages below';
    if (c) $('nm').hidden = false;
  };
  // Back to the present: the pane again from the room's latest page.
  const newestPage = r => {
    while (r.top.nextElementSibling) r.top.nextElementSibling.remove();
    r.ids.clear();
    r.cut = r.start = false;
    r.loading = true;
    if (send({type: 'history', room: r.name, limit: PAGE})) r.asked.push('latest');
    topline(r);
    cutline();
  };
  const bottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < 48;
  // A day's first row has the date above it; a date with no row under it goes.
  const dated = row => {
    const p = row.previousElementSibling, n = row.nextElementSibling;
    if (p.day !== row.day) {
      const d = el('div', 'day', row.at.toLocaleDateString(undefined, {weekday: 'long', year: 'numeric', month: 'long', day: 'numeric'}));
      d.day = row.day;
      row.before(d);
    }
    if (n && n.classList.contains('day') && n.day === row.day) n.remove();
    else if (n && n.day !== row.day && !n.classList.contains('day')) dated(n);
  };
  // One row: kind is chat, act, sys, priv or err; at is a Date; ev the
  // event's {id, at} (its time as sent) when it has one.
  const mk = (kind, at, content, self, ev) => {
    const row = el('div', 'l ' + kind + (self ? ' self' : ''));
    row.at = at;
    row.day = at.toDateString();
    if (ev) {
      row.dataset.id = ev.id;
      row.dataset.at = ev.at;
    }
    const t = el('time', 't', at.toTimeString().slice(0, 5));
    t.dateTime = at.toISOString();
    t.title = at.toLocaleString();
    const m = el('span', 'm');
    m.append(...content);
    row.append(t, m);
    const text = m.textContent;
    if (!self && (kind === 'chat' || kind === 'act' || kind === 'priv') && mentions(text.slice(text.indexOf(' ') + 1))) row.classList.add('hl');
    return row;
  };
  const add = (r, kind, at, content, self, ev) => {
    r = r || cur || room('lobby');
    const row = mk(kind, at, content, self, ev);
    // Unread: in another room, or in this one while the tab is in the background.
    if ((r !== cur || away()) && (kind === 'chat' || kind === 'act' || kind === 'priv') && !self) {
      r.unread++;
      if (row.classList.contains('hl') || r.priv) {
        r.mention = true;
        ping(r, row);
      }
      badge(r);
    }
    pending.push([r, row]);
    if (pending.length > 2 * MAX_LINES) pending = pending.slice(-MAX_LINES);
    if (!drawing) {
      drawing = true;
      requestAnimationFrame(draw);
    }
    return row;
  };
  const words = (kind, nick, text) => kind === 'act' ? [el('span', 'p', '* '), who(nick), ' ', rich(text)]
    : [el('span', 'p', '<'), who(nick), el('span', 'p', '> '), rich(text)];
  const line = (r, kind, nick, text, at, self, ev) => add(r, kind, at || new Date(), words(kind, nick, text), self, ev);
  // Ours: sent back to us (own), or replayed history under our nick.
  const ours = o => !!o.own || fold(o.nick) === fold(me);
  const sys = (r, text, at, ev) => add(r, 'sys', at || new Date(), [rich(text)], false, ev);
  const show = (state, text) => {
    status.dataset.state = state;
    status.textContent = text;
  };
  const setNick = n => {
    me = n;
    $('nick').textContent = n;
    $('lf').hidden = !/^guest-\d+$/.test(n) || !!wantNick;
  };
  const send = o => {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(o));
    return true;
  };
  const inRoom = o => cur && !cur.priv ? Object.assign(o, {room: cur.name}) : o;
  const receive = o => {
    const at = o.time ? new Date(o.time) : new Date();
    const r = o.room ? rooms.get(fold(o.room)) : null;
    const ev = r && o.id ? {id: o.id, at: o.time} : null;
    if (ev) {
      if (seen(r, o.id, o.time)) return;
      newest(r, ev);
    }
    switch (o.type) {
    case 'welcome':
      welcomed = true;
      attempt = 0;
      // Our own lines come back with their ids: they are drawn from that.
      send({type: 'echo'});
      $('srv').textContent = o.server;
      setNick(o.nick);
      nickTries = 0;
      restoring = !!wantNick && fold(wantNick) !== fold(o.nick);
      if (restoring) send({type: 'nick', nick: wantNick});
      if (wantRooms) {
        for (const n of wantRooms) if (fold(n) !== 'lobby') send({type: 'join', room: n});
        partLobby = !wantRooms.some(n => fold(n) === 'lobby');
      }
      break;
    case 'joined_room': {
      if (partLobby && fold(o.room) === 'lobby') {
        partLobby = false;
        send({type: 'part', room: o.room});
        break;
      }
      const j = room(o.room);
      j.joined = true;
      j.members.clear();
      sys(j, 'you joined #' + o.room + ' (' + o.members + (o.members === 1 ? ' member)' : ' members)'));
      // Whether this server keeps history at all (else no Load older); once a connection.
      if (!probed && send({type: 'history', room: o.room, limit: 1})) {
        probed = true;
        j.asked.push('probe');
      }
      // Back after a reconnect: what followed the last event we have, once.
      missed(j);
      send({type: 'who', room: o.room});
      if (!cur || fold(o.room) === fold(switchTo) || fold(o.room) === fold(wantCur)) {
        switchTo = '';
        select(j);
      }
      save();
      break;
    }
    case 'chat': case 'action':
      if (r) line(r, o.type === 'chat' ? 'chat' : 'act', o.nick, o.text, at, ours(o), ev);
      break;
    case 'joined':
      if (!r) break;
      r.members.add(o.nick);
      sys(r, o.nick + ' joined', at, ev);
      break;
    case 'left':
      if (!r) break;
      r.members.delete(o.nick);
      sys(r, o.nick + ' left' + (o.reason ? ' (' + o.reason + ')' : ''), at, ev);
      break;
    case 'renamed': {
      const mine = fold(o.old_nick) === fold(me);
      for (const x of rooms.values()) {
        if (x.priv || !(x.members.has(o.old_nick) || x === r)) continue;
        x.members.delete(o.old_nick);
        x.members.add(o.nick);
        sys(x, o.old_nick + ' is now known as ' + o.nick, at, x === r ? ev : null);
      }
      if (mine) {
        restoring = false;
        wantNick = o.nick;
        setNick(o.nick);
        save();
      }
      break;
    }
    case 'notice':
      sys(r, o.text, at, ev);
      break;
    case 'private': {
      const mine = ours(o);
      const p = room(mine ? o.to : o.nick, true);
      line(p, 'priv', o.nick, o.text, at, mine);
      break;
    }
    case 'who': {
      const w = rooms.get(fold(o.room));
      if (w) w.members = new Set(o.names);
      if (showWho > 0) {
        showWho--;
        sys(w, 'in #' + o.room + ': ' + o.names.join(', '));
      }
      break;
    }
    case 'rooms':
      sys(cur, 'rooms: ' + o.rooms.map(x => '#' + x.name + ' (' + x.members + ')').join(', '));
      break;
    case 'topic':
      sys(o.room ? rooms.get(fold(o.room)) : cur, 'topic: ' + o.text);
      break;
    case 'history': {
      const h = rooms.get(fold(o.room));
      if (!h) break;
      const kind = h.asked.shift() || 'older';
      if (kind === 'probe') {
        if (noHistory) {
          noHistory = false;
          rooms.forEach(topline);
        }
        break;
      }
      // The lines of one message share its id: one row, as when it was said.
      const msgs = [];
      for (const x of o.lines) {
        const p = msgs[msgs.length - 1];
        if (p && p.id === x.id && p.type === 'chat' && x.type === 'chat') p.text += '\n' + x.text;
        else msgs.push(Object.assign({}, x));
      }
      const fresh = msgs.filter(m => !seen(h, m.id, m.time));
      if (kind !== 'after') {
        // Older lines go above the oldest shown, and what was read stays in place.
        h.loading = false;
        h.start = !o.more;
        const ref = h.pane.querySelector('.l') || h.top, y = ref.getBoundingClientRect().top;
        const rows = fresh.map(m => mk(m.type === 'action' ? 'act' : 'chat', new Date(m.time), words(m.type === 'action' ? 'act' : 'chat', m.nick, m.text), ours(m), {id: m.id, at: m.time}));
        h.top.after(...rows);
        rows.forEach(dated);
        log.scrollTop += ref.getBoundingClientRect().top - y;
        if (kind === 'latest') log.scrollTop = log.scrollHeight;
        topline(h);
        trim(h, h === cur && kind !== 'latest' && log.scrollTop + log.clientHeight / 2 < log.scrollHeight / 2);
        cutline();
        break;
      }
      // What was said while we were away, placed by id among what the rejoin replayed.
      if (o.some_missing) sys(h, 'some messages from while you were away are no longer available', null, msgs.length ? {id: msgs[0].id, at: msgs[0].time} : null).classList.add('gap');
      for (const m of msgs) newest(h, {id: m.id, at: m.time});
      for (const m of fresh) line(h, m.type === 'action' ? 'act' : 'chat', m.nick, m.text, new Date(m.time), ours(m), {id: m.id, at: m.time});
      // The server cut the page: ask on from its last id.
      if (o.more && msgs.length) missed(h);
      break;
    }
    case 'help':
      for (const h of o.lines) sys(cur, h);
      break;
    case 'logged_in':
      sys(cur, 'logged in as ' + o.account);
      break;
    case 'invited':
      sys(cur, 'you are invited to #' + o.room);
      break;
    case 'room_closed': {
      const c = rooms.get(fold(o.room));
      if (c) drop(c);
      sys(cur, '#' + o.room + ' was closed: ' + o.reason);
      break;
    }
    case 'error':
      if (/^history_/.test(o.code)) {
        // No answer to come for what was asked: Load older offered again, or not at all.
        noHistory = o.code === 'history_not_kept';
        for (const x of rooms.values()) {
          x.asked = [];
          x.loading = false;
          topline(x);
        }
        if (noHistory) break;
      }
      // Our old connection may still hold the nick for a moment after a reload.
      if (o.code === 'nick_taken' && restoring && nickTries < 5 && fold(o.subject || '') === fold(wantNick)) {
        nickTries++;
        setTimeout(() => send({type: 'nick', nick: wantNick}), 500);
        break;
      }
      if (o.code === 'nick_taken' && restoring) add(cur, 'err', at, [el('span', '', 'could not take back the nick ' + wantNick)]);
      add(cur, 'err', at, [el('span', '', 'error: ' + o.text)]);
      break;
    case 'bye':
      if (o.code !== 'shutting_down') dropped = true;
      add(cur, o.code === 'shutting_down' ? 'sys' : 'err', at, [el('span', '', o.text)]);
      break;
    }
    if (cur && /^(who|joined|left|renamed)$/.test(o.type)) showMembers();
  };
  const connect = () => {
    clearTimeout(timer);
    clearInterval(ticker);
    timer = 0;
    quitting = dropped = welcomed = partLobby = probed = false;
    show('connecting', 'connecting\u2026');
    const s = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws', 'chatroom.v1');
    ws = s;
    // A server that accepts but never answers must not leave the page waiting.
    setTimeout(() => { if (s.readyState === WebSocket.CONNECTING) s.close(); }, 10000);
    s.onopen = () => {
      if (ws !== s) return;
      show('open', 'connected');
      for (const r of rooms.values()) {
        r.asked = [];
        r.loading = false;
        topline(r);
      }
      if (opened) {
        sys(cur, 'reconnected');
        // Back in the rooms we were in, as the nick we had.
        const list = Array.from(rooms.values()).filter(r => !r.priv && r.joined);
        if (list.length) wantRooms = list.map(r => r.name);
        for (const r of list) r.joined = false;
        if (cur && !cur.priv) wantCur = cur.name;
      }
      opened = true;
    };
    s.onmessage = e => {
      if (ws !== s || typeof e.data !== 'string') return;
      let o;
      try { o = JSON.parse(e.data); } catch (x) { return; }
      if (o && typeof o.type === 'string') receive(o);
    };
    s.onclose = () => {
      if (ws !== s) return;
      ws = null;
      if (welcomed) sys(cur, 'connection closed');
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
  // A typed line: chat for the pane shown, or a /command as a JSON command.
  const command = text => {
    const m = /^\/(\S+)\s*([\s\S]*)$/.exec(text);
    if (!m || text[1] === '/') {
      const say = text[0] === '/' ? text.slice(1) : text;
      if (cur && cur.priv) send({type: 'msg', to: cur.name, text: say});
      else send(inRoom({type: 'say', text: say}));
      return;
    }
    const c = m[1].toLowerCase(), arg = m[2].trim(), w = arg.split(/\s+/);
    if (c === 'me' && arg) {
      if (cur && cur.priv) send({type: 'msg', to: cur.name, text: '* ' + arg});
      else send(inRoom({type: 'me', text: arg}));
    } else if (c === 'join' && arg) {
      switchTo = w[0].replace(/^#/, '');
      const r = rooms.get(fold(switchTo));
      if (r && r.joined) select(r);
      else send({type: 'join', room: switchTo});
    } else if (c === 'part' || c === 'leave') {
      const r = w[0] ? rooms.get(fold(w[0].replace(/^#/, ''))) : cur;
      if (r) leave(r);
    } else if (c === 'nick' && arg) {
      wantNick = w[0];
      send({type: 'nick', nick: w[0]});
    } else if ((c === 'msg' || c === 'query') && w[0]) {
      const r = room(w[0], true);
      select(r);
      const t = arg.slice(w[0].length).trim();
      if (t) send({type: 'msg', to: w[0], text: t});
    } else if (c === 'who') {
      showWho++;
      send(w[0] ? {type: 'who', room: w[0].replace(/^#/, '')} : inRoom({type: 'who'}));
    } else if (c === 'topic' && arg) {
      send(inRoom({type: 'topic', text: arg}));
    } else if (c === 'history' && cur) {
      older(cur);
      log.scrollTop = 0;
    } else if (c === 'rooms' || c === 'help') {
      send({type: c});
    } else if (c === 'quit') {
      quitting = true;
      send(arg ? {type: 'quit', reason: arg} : {type: 'quit'});
    } else if (c === 'login' && w.length === 2) {
      send({type: 'login', name: w[0], secret: w[1]});
    } else {
      send({type: 'line', text});
    }
  };
  $('f').addEventListener('submit', e => {
    e.preventDefault();
    if (!ws) { // the typed text stays in the input, to be sent once connected
      connect();
      return;
    }
    const lines = input.value.split(/\r?\n/).filter(l => l.trim());
    if (!lines.length || ws.readyState !== WebSocket.OPEN) return;
    for (const l of lines) command(l);
    typed.push(input.value);
    if (typed.length > 100) typed.shift();
    hpos = typed.length;
    input.value = '';
  });
  $('jf').addEventListener('submit', e => {
    e.preventDefault();
    const v = $('jr').value.trim();
    if (v) command('/join ' + v);
    $('jr').value = '';
  });
  $('lf').addEventListener('submit', e => {
    e.preventDefault();
    const v = $('ln').value.trim();
    if (v) command('/nick ' + v);
    input.focus();
  });
  // Permission is asked only here, on a click: never on load.
  const bell = () => $('nb').setAttribute('aria-pressed', notify);
  $('nb').hidden = !window.Notification;
  bell();
  $('nb').addEventListener('click', () => {
    if (notify) notify = false;
    else Notification.requestPermission().then(p => {
      notify = p === 'granted';
      if (!notify) sys(cur, 'this browser blocks notifications from this page');
      bell();
      save();
    });
    bell();
    save();
  });
  // Back to the tab: the room shown is read.
  const back = () => {
    if (away() || !cur || !cur.unread) return;
    cur.unread = 0;
    cur.mention = false;
    badge(cur);
  };
  document.addEventListener('visibilitychange', back);
  addEventListener('focus', back);
  $('mb').addEventListener('click', () => {
    $('mb').setAttribute('aria-expanded', document.body.classList.toggle('side'));
  });
  input.addEventListener('keydown', e => {
    if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
      const list = Array.from(rooms.values());
      select(list[(list.indexOf(cur) + (e.key === 'ArrowUp' ? list.length - 1 : 1)) % list.length]);
    } else if (e.key === 'Tab' && cur && input.value) {
      const w = /\S+$/.exec(input.value);
      const n = w && Array.from(cur.members).find(x => fold(x).startsWith(fold(w[0])));
      if (!n) return;
      input.value = input.value.slice(0, w.index) + n + (w.index ? ' ' : ': ');
    } else if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
      hpos = Math.max(0, Math.min(typed.length, hpos + (e.key === 'ArrowUp' ? -1 : 1)));
      input.value = typed[hpos] || '';
    } else {
      return;
    }
    e.preventDefault();
  });
  // Send, a tap on the status line or the network coming back retry at once.
  status.addEventListener('click', () => { if (!ws) connect(); });
  log.addEventListener('scroll', () => {
    if (log.scrollTop < 2 && cur) older(cur);
    if (bottom() && !(cur && cur.cut)) $('nm').hidden = true;
  });
  $('nm').addEventListener('click', () => {
    if (cur && cur.cut) newestPage(cur);
    log.scrollTop = log.scrollHeight;
    $('nm').hidden = true;
    input.focus();
  });
  addEventListener('online', () => { if (timer) connect(); });
  $('lf').hidden = !!wantNick;
  connect();
})();
</script>
</body>
</html>
)chatroom";

inline constexpr std::string_view web_page_csp = "default-src 'none'; connect-src 'self'; img-src 'self' data:; "
                                                 "style-src 'sha256-xuj9iScaNqoCdI3Lj8szn6CN6B2Z3exJ//cwZtSG5fU='; "
                                                 "script-src 'sha256-Hm/2YnjM5ApEPp7u4/UPavza9efxgXu26wWDX1TSpKU='; "
                                                 "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

} // namespace chatroom::detail
