#pragma once

// The chat page's script, part 1 of 5 (the parts make one <script>, one
// arrow function): helpers, the page's state (what localStorage keeps, the
// connection's flags, the rooms), nick colours, links, mentions.
//
// Raw text, copied into the page as it is (web/detail/page.hpp): keep it ASCII,
// free of two blank lines in a row and of `#include <chatroom/...>` lines
// (scripts/amalgamate.py rewrites both).
namespace chatroom::detail::page_text {

inline constexpr char script_base[] = R"chatroom('use strict';
(() => {
  const $ = id => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const log = $('log'), input = $('i'), status = $('status');
  const MAX_LINES = 2000, TRIM = 50, BASE_MS = 500, CAP_MS = 15000, PAGE = 50;
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
  let unacked = [], canLogin = false;
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
  // The hash picks a hue (1 of 360, OKLCH) and, from other bits, one of three
  // lightness steps inside the band that keeps 4.5:1 against each theme's
  // backgrounds (style: --nl, --nd), so that nicks differ in two ways.
  const hue = s => {
    let h = 2166136261;
    for (const c of fold(s)) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
    h = Math.imul(h ^ h >>> 16, 2246822507);
    h = Math.imul(h ^ h >>> 13, 3266489909);
    h = (h ^ h >>> 16) >>> 0;
    return [h % 360, (h >>> 16) % 3];
  };
  const who = n => {
    const e = el('span', 'n', n), [h, v] = hue(n);
    e.style.setProperty('--h', h);
    e.style.setProperty('--v', v);
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
)chatroom";

} // namespace chatroom::detail::page_text
