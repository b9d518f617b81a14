#pragma once

// The chat page's script, part 3 of 5: the room list (unread counts, mention
// marker, selecting, joining and leaving), the member list, the nick, the
// join and nick forms, the Notify button and the keys of the input.
//
// Raw text, copied into the page as it is (web/detail/page.hpp): keep it ASCII,
// free of two blank lines in a row and of `#include <chatroom/...>` lines
// (scripts/amalgamate.py rewrites both).
namespace chatroom::detail::page_text {

inline constexpr char script_rooms[] = R"chatroom(  const setTitle = () => {
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
  const setNick = n => {
    me = n;
    $('nick').textContent = n;
    $('lf').hidden = !/^guest-\d+$/.test(n) || !!wantNick;
  };
  $('jf').addEventListener('submit', e => {
    e.preventDefault();
    const v = $('jr').value.trim();
    if (v) command('/join ' + v);
    $('jr').value = '';
  });
  // With a password (the server has accounts): a login as that name.
  $('lf').addEventListener('submit', e => {
    e.preventDefault();
    const v = $('ln').value.trim(), p = $('lp').value;
    $('lp').value = '';
    if (v && canLogin && p) {
      wantNick = v;
      send({type: 'login', name: v, secret: p});
    } else if (v) command('/nick ' + v);
    input.focus();
  });
  // The server has accounts: it asked for a login, or the nick is one.
  const askLogin = () => {
    canLogin = true;
    $('lw').hidden = $('lf').hidden = false;
    if (!$('ln').value) $('ln').value = wantNick;
  };
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
)chatroom";

} // namespace chatroom::detail::page_text
