#pragma once

// The chat page's script, part 2 of 5: the rows of a room's pane. Ids and
// what was seen, "Load older", rows drawn once a frame in id order, the
// MAX_LINES cap, dates, and the "New messages below" button.
//
// Raw text, copied into the page as it is (web/detail/page.hpp): keep it ASCII,
// free of two blank lines in a row and of `#include <chatroom/...>` lines
// (scripts/amalgamate.py rewrites both).
namespace chatroom::detail::page_text {

inline constexpr char script_panes[] = R"chatroom(  const idCmp = (a, b) => {
    const x = a.split('-'), y = b.split('-');
    for (let i = 0; i < 2; i++) {
      const p = x[i] || '', q = y[i] || '';
      if (p.length !== q.length) return p.length - q.length;
      if (p !== q) return p < q ? -1 : 1;
    }
    return 0;
  };
  // The top of a joined room's pane: "Load older" while the server may have more.
  const topline = r => {
    r.top.textContent = '';
    if (r.priv || !r.joined) return;
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
  // At most MAX_LINES rows a pane (MAX_LINES - TRIM after a trim): they go
  // from the end farther from the view. The newest (old: the reader is in the older half of the shown
  // pane, it paged back): the pane no longer reaches the present, and its
  // new events wait for "Show newest messages". There the newest event row
  // goes, not a row without an id (an answer such as /who's or an error):
  // dropping the end row would drop the answer just drawn.
  // Past the cap, TRIM rows go at once: a row taken from the top moves every
  // row under it, which costs a frame most of its time (style, layout and
  // paint of the whole pane); one batch of them every TRIM lines, not every line.
  const trim = (r, old) => {
    if (r.pane.childElementCount <= MAX_LINES) return;
    while (r.pane.childElementCount > MAX_LINES - TRIM) {
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
    // In no room yet (a server that asks for a login first): the pane is shown all the same.
    if (!cur) select(r);
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
)chatroom";

} // namespace chatroom::detail::page_text
