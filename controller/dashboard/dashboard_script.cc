// The dashboard's script: renders /api/v1/stream's snapshots (and polls
// /api/v1/snapshot if the stream is refused). Every value goes into the page
// through textContent or an attribute, never as markup. The <body>'s data-*
// attributes count updates and events, for tests and the curious.

#include "controller/dashboard/dashboard.h"

namespace ferry::controller::dashboard {

const char kDashboardJs[] = R"js('use strict';
(function () {
  const body = document.body;
  let firstEvents = null;  // keys of the events the first snapshot held
  let liveEvents = 0;

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function cond(list, type) {
    return (list || []).find((c) => c.type === type) || {status: 'Unknown', reason: '', message: ''};
  }
  function badge(text, cls, title) {
    const b = el('span', text, 'badge ' + cls);
    if (title) b.title = title;
    return b;
  }
  function cell(child, cls) {
    const td = el('td', undefined, cls);
    if (child instanceof Node) td.appendChild(child); else td.textContent = child;
    return td;
  }
  function statusBadge(c, good, labels) {
    const cls = c.status === 'Unknown' ? 'unknown' : (c.status === good ? 'ok' : labels.badClass);
    const text = labels[c.status] || c.status;
    return badge(text, cls, [c.reason, c.message].filter(Boolean).join(': '));
  }
  function emptyRow(columns, text) {
    const td = el('td', text, 'empty');
    td.colSpan = columns;
    const tr = el('tr');
    tr.appendChild(td);
    return tr;
  }

  function renderNodes(nodes) {
    const rows = nodes.items.map((n) => {
      const tr = el('tr');
      tr.dataset.node = n.name;
      tr.dataset.connected = n.connected;
      tr.dataset.inSync = n.inSync;
      tr.append(cell(n.name, 'mono'),
                cell(statusBadge({status: n.connected}, 'True',
                                 {True: 'Connected', False: 'Disconnected', badClass: 'bad'})),
                cell(statusBadge({status: n.inSync, reason: n.inSyncReason, message: n.inSyncMessage},
                                 'True', {True: 'In sync', False: 'Drifted', badClass: 'warn'})),
                cell(n.agentVersion || '—', 'mono'),
                cell(n.addresses.join(', ') || '—', 'mono'),
                cell(n.lastSeen || '—', 'mono'));
      return tr;
    });
    document.querySelector('#nodes tbody').replaceChildren(...(rows.length ? rows : [emptyRow(6, 'no nodes')]));
    return nodes.items;
  }

  function renderForwards(forwards) {
    const rows = forwards.items.map((f) => {
      const ready = cond(f.conditions, 'Ready');
      const drifted = cond(f.conditions, 'Drifted');
      const verified = cond(f.conditions, 'DataPathVerified');
      const tr = el('tr', undefined, drifted.status === 'True' ? 'drifted' : '');
      tr.dataset.forward = f.name;
      tr.dataset.ready = ready.status;
      tr.dataset.drifted = drifted.status;
      tr.dataset.dataPath = verified.status;
      tr.append(cell(f.name, 'mono'),
                cell(statusBadge(ready, 'True', {True: 'Ready', False: 'Not ready', badClass: 'bad'})),
                cell(statusBadge(drifted, 'False', {True: 'Drifted', False: 'No', badClass: 'warn'})),
                cell(statusBadge(verified, 'True', {True: 'Verified', False: 'Failing', badClass: 'bad'})),
                cell(f.frontend, 'mono'), cell(f.backend, 'mono'), cell(f.ports, 'mono'),
                cell(f.sourceIP + ', ' + f.driftPolicy));
      return tr;
    });
    document.querySelector('#forwards tbody').replaceChildren(...(rows.length ? rows : [emptyRow(8, 'no forwards')]));
    const more = document.getElementById('forwards-more');
    more.hidden = !forwards.truncated;
    more.textContent = forwards.truncated ? 'Showing the first ' + forwards.items.length +
        ' forwards by name; ferryctl get forwards lists them all.' : '';
    return forwards.items;
  }

  function renderEvents(events) {
    const key = (e) => [e.time, e.reason, e.object, e.node, e.count].join('|');
    if (firstEvents === null) firstEvents = new Set(events.items.map(key));
    const items = events.items.map((e) => {
      const li = el('li', undefined, e.type === 'Warning' ? 'warning' : '');
      li.dataset.reason = e.reason;
      if (!firstEvents.has(key(e))) {
        li.classList.add('live');
        li.dataset.live = '1';
      }
      li.append(el('span', e.time, 'mono'),
                badge(e.type || 'Normal', e.type === 'Warning' ? 'warn' : 'ok'),
                el('span', e.reason),
                el('span', e.object + (e.node ? ' on ' + e.node : '') + ': ' + e.message +
                   (e.count > 1 ? ' (×' + e.count + ')' : '')));
      return li;
    });
    liveEvents = items.filter((li) => li.dataset.live).length;
    document.getElementById('events').replaceChildren(...(items.length ? items : [el('li', 'no events', 'empty')]));
    body.dataset.events = String(events.items.length);
    body.dataset.liveEvents = String(liveEvents);
  }

  function render(snapshot) {
    const nodes = renderNodes(snapshot.nodes);
    const forwards = renderForwards(snapshot.forwards);
    renderEvents(snapshot.events);
    const connected = nodes.filter((n) => n.connected === 'True').length;
    const ready = forwards.filter((f) => cond(f.conditions, 'Ready').status === 'True').length;
    const drifted = forwards.filter((f) => cond(f.conditions, 'Drifted').status === 'True').length;
    document.getElementById('summary').textContent =
        connected + '/' + nodes.length + ' nodes connected · ' + ready + '/' + forwards.length +
        ' forwards ready · ' + drifted + ' drifted · revision ' + snapshot.revision;
    body.dataset.revision = String(snapshot.revision);
    body.dataset.updates = String(Number(body.dataset.updates) + 1);
  }

  function setConnection(text, cls) {
    const c = document.getElementById('conn');
    c.textContent = text;
    c.className = 'badge ' + cls;
  }

  function poll() {
    fetch('/api/v1/snapshot', {cache: 'no-store'})
        .then((r) => { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
        .then((s) => { render(s); setConnection('polling', 'ok'); })
        .catch(() => setConnection('offline', 'bad'))
        .finally(() => setTimeout(poll, 5000));
  }

  const stream = new EventSource('/api/v1/stream');
  stream.addEventListener('snapshot', (m) => render(JSON.parse(m.data)));
  stream.onopen = () => setConnection('live', 'ok');
  stream.onerror = () => {
    if (stream.readyState === EventSource.CLOSED) {
      poll();  // refused (e.g. too many streams): fall back to polling
    } else {
      setConnection('reconnecting', 'bad');
    }
  };
})();
)js";

}  // namespace ferry::controller::dashboard
