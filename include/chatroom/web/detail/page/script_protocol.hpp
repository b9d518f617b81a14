#pragma once

// The chat page's script, part 4 of 5: what the server sends in the JSON
// dialect (docs/web-protocol.md), each object turned into rows and state.
//
// Raw text, copied into the page as it is (web/detail/page.hpp): keep it ASCII,
// free of two blank lines in a row and of `#include <chatroom/...>` lines
// (scripts/amalgamate.py rewrites both).
namespace chatroom::detail::page_text {

inline constexpr char script_protocol[] = R"chatroom(  const ready = () => !!ws && ws.readyState === WebSocket.OPEN;
  const send = o => {
    if (!ready()) return false;
    ws.send(JSON.stringify(o));
    return true;
  };
  // Own lines back from the server: each one sent before the last of them
  // that is here has its answer (an echo, or an error).
  const acked = text => {
    const ls = text.split('\n');
    let n = 0;
    unacked.forEach((u, i) => { if (ls.includes(u.text)) n = i + 1; });
    unacked = unacked.slice(n || 1);
  };
  const inRoom = o => cur && !cur.priv ? Object.assign(o, {room: cur.name}) : o;
  const receive = o => {
    const at = o.time ? new Date(o.time) : new Date();
    const r = o.room ? rooms.get(fold(o.room)) : null;
    const ev = r && o.id ? {id: o.id, at: o.time} : null;
    if (o.own && typeof o.text === 'string') acked(o.text);
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
      topline(j);
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
      // The account's name is the nick now (said by no renamed while in no room).
      restoring = false;
      wantNick = o.account;
      setNick(o.account);
      save();
      $('lf').hidden = true;
      // Refused before the login: the rooms this page was in.
      if (wantRooms) for (const n of wantRooms) if (fold(n) !== 'lobby') send({type: 'join', room: n});
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
      if (o.code === 'login_first' || o.code === 'nick_registered') askLogin();
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
)chatroom";

} // namespace chatroom::detail::page_text
