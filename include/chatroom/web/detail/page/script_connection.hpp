#pragma once

// The chat page's script, part 5 of 5: the WebSocket (connect, reconnect
// with backoff, the status line), typed lines and /commands turned into JSON
// commands, and the start. It closes the function part 1 opened.
//
// Raw text, copied into the page as it is (web/detail/page.hpp): keep it ASCII,
// free of two blank lines in a row and of `#include <chatroom/...>` lines
// (scripts/amalgamate.py rewrites both).
namespace chatroom::detail::page_text {

inline constexpr char script_connection[] = R"chatroom(  const show = (state, text) => {
    status.dataset.state = state;
    status.textContent = text;
  };
  const connect = () => {
    clearTimeout(timer);
    clearInterval(ticker);
    timer = 0;
    quitting = dropped = welcomed = partLobby = probed = false;
    unacked = [];
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
      // Sent as the connection went, never sent back: shown as not sent, and
      // a single such line goes back into an empty input.
      const lost = unacked.filter(u => Date.now() - u.at < 10000);
      unacked = [];
      for (const u of lost) add(rooms.get(u.key) || cur, 'err', new Date(), [el('span', '', 'not sent: ' + u.text)]);
      if (lost.length === 1 && !input.value) input.value = lost[0].typed;
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
  // What is said (say, me, msg) is kept until the server sends it back.
  const said = (o, typed) => {
    if (!send(o)) return;
    const key = o.to ? '@' + fold(o.to) : fold(o.room || ''), at = Date.now();
    for (const text of o.text.split('\n')) unacked.push({key, text, typed, at});
    if (unacked.length > 200) unacked.shift();
  };
  const command = text => {
    const m = /^\/(\S+)\s*([\s\S]*)$/.exec(text);
    if (!m || text[1] === '/') {
      const say = text[0] === '/' ? text.slice(1) : text;
      if (cur && cur.priv) said({type: 'msg', to: cur.name, text: say}, text);
      else said(inRoom({type: 'say', text: say}), text);
      return;
    }
    const c = m[1].toLowerCase(), arg = m[2].trim(), w = arg.split(/\s+/);
    if (c === 'me' && arg) {
      if (cur && cur.priv) said({type: 'msg', to: cur.name, text: '* ' + arg}, text);
      else said(inRoom({type: 'me', text: arg}), text);
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
      if (t) said({type: 'msg', to: w[0], text: t}, text);
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
    } else if (c === 'login' && w.length >= 2) { // the secret is the rest, spaces and all
      send({type: 'login', name: w[0], secret: arg.slice(w[0].length).trim()});
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
  // A paste of several lines is asked about, then sent as several lines: one
  // say of up to 20 lines in a room, a message a line in a conversation.
  // Not sent, it stays in the input with spaces for the line breaks.
  input.addEventListener('paste', e => {
    const text = e.clipboardData ? e.clipboardData.getData('text') : '';
    if (!/[\r\n]/.test(text)) return;
    e.preventDefault();
    const v = input.value, all = v.slice(0, input.selectionStart) + text + v.slice(input.selectionEnd);
    const lines = all.split(/\r\n?|\n/).filter(l => l.trim());
    if (lines.length > 1 && ready() && confirm('Send ' + lines.length + ' lines?')) {
      if (cur && cur.priv) for (const l of lines) said({type: 'msg', to: cur.name, text: l}, l);
      else for (let i = 0; i < lines.length; i += 20) said(inRoom({type: 'say', text: lines.slice(i, i + 20).join('\n')}), lines[i]);
      input.value = '';
    } else {
      input.value = lines.join(' ');
    }
  });
  status.addEventListener('click', () => { if (!ws) connect(); });
  addEventListener('online', () => { if (timer) connect(); });
  $('lf').hidden = !!wantNick;
  connect();
})();
)chatroom";

} // namespace chatroom::detail::page_text
