// exactly serve: the catalog, the verdict matrix of the last run, and the counterexample viewer.
// Plain JavaScript, no framework; everything is drawn from the JSON routes of `exactly serve`.
'use strict';

const $ = (sel, el = document) => el.querySelector(sel);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const getJSON = async (url) => { const r = await fetch(url); if (!r.ok) throw new Error(`${url}: ${r.status}`); return r.json(); };

let catalog = null;

// ---------- the common trace format, read the same way for both checkers ----------

// TLA+ values as JSON, read plainly: a model value {"model_value": "h1"} as its name, a set
// {"set": [...]} as a list, a function {"function": [[k, v], ...]} with plain keys as an object.
function simple(v) {
  if (Array.isArray(v)) return v.map(simple);
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === 'model_value') return v.model_value;
    if (keys.length === 1 && keys[0] === 'set' && Array.isArray(v.set)) return v.set.map(simple);
    if (keys.length === 1 && keys[0] === 'function' && Array.isArray(v.function)) {
      const pairs = v.function.map(([k, x]) => [simple(k), simple(x)]);
      if (pairs.every(([k]) => k === null || typeof k !== 'object')) return Object.fromEntries(pairs);
      return pairs;
    }
    const o = {};
    for (const k of keys) o[k] = simple(v[k]);
    return o;
  }
  return v;
}

// The envelopes in flight in a state, as a map key -> {src, dst, msg, copies}: Stateright's
// `network` (a list of {src, dst, msg, copies}) or TLC's `net` (a bag: {"function": [[env, n]]}).
function envelopes(state) {
  const out = new Map();
  const add = (env, copies) => {
    const e = simple(env);
    const key = JSON.stringify([e.src, e.dst, e.msg]);
    const prev = out.get(key);
    if (prev) prev.copies += copies; else out.set(key, { src: String(e.src), dst: String(e.dst), msg: e.msg, copies });
  };
  if (Array.isArray(state.network)) for (const e of state.network) add(e, e.copies ?? 1);
  const net = state.net;
  if (net && Array.isArray(net.function)) for (const [e, n] of net.function) add(e, n);
  return out;
}

// The events of step i (i >= 1): one delivery per envelope copy that left the network (a
// "message step"), else marks on the lifelines of the actors whose state changed.
function events(trace, i) {
  const before = envelopes(trace.steps[i - 1].state), after = envelopes(trace.steps[i].state);
  const delivered = [];
  for (const [key, e] of before) {
    const gone = e.copies - (after.get(key)?.copies ?? 0);
    for (let n = 0; n < gone; n++) delivered.push({ kind: 'deliver', src: e.src, dst: e.dst, label: msgLabel(e.msg), msg: e.msg });
  }
  if (delivered.length) return delivered;
  const step = trace.steps[i];
  const owners = [...new Set(step.changed.map(owner).filter((o) => o))];
  let label = actionLabel(step.action);
  if (/Next$/.test(label)) {
    // TLC names the whole next-state disjunct: say what the step sent instead.
    const sent = [...after].filter(([k, e]) => e.copies > (before.get(k)?.copies ?? 0)).map(([, e]) => msgLabel(e.msg).replace(/\(.*/, ''));
    label = sent.length ? `sends ${sent.join(', ')}` : step.changed.join(', ').slice(0, 30);
  }
  const crash = step.changed.some((p) => /^crashed\b|\.crashed$/.test(p)) || /crash/i.test(step.action);
  return (owners.length ? owners : [null]).map((actor) => ({ kind: 'mark', actor, label, crash }));
}

// The actor a changed part of the state belongs to (names of the shared world in both twins).
function owner(path) {
  const [head, sub] = path.split('.');
  if (['broker', 'queue', 'leases'].includes(head)) return 'broker';
  if (['handlers', 'hs', 'crashed', 'failures'].includes(head)) return sub || null;
  if (head === 'downstream' || head === 'received') return 'downstream';
  if (/^store\d*$/.test(head)) return head;
  if (head === 'docs') return 'store';
  return null;
}

function actionLabel(a) {
  return a.replace(/^Id\(\d+\) select random /, '').replace(/ line \d+, col \d+ to line \d+, col \d+ of module \w+$/, '')
    .replace(/\s*\{.*$/, '').slice(0, 40);
}

function compact(v) {
  if (v === null || typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return `[${v.map(compact).join(', ')}]`;
  return `{${Object.entries(v).map(([k, x]) => `${k}: ${compact(x)}`).join(', ')}}`;
}

function msgLabel(m) {
  m = simple(m);
  if (m && typeof m === 'object' && !Array.isArray(m)) {
    const keys = Object.keys(m);
    if (keys.length === 1 && /^[A-Z]/.test(keys[0])) return keys[0] + args(m[keys[0]]);
    if ('type' in m) { const { type, ...rest } = m; return type + args(rest); }
  }
  return compact(m);
}
function args(v) {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'object' || Array.isArray(v)) return `(${compact(v)})`;
  const e = Object.entries(v);
  return e.length ? `(${e.map(([k, x]) => `${k}=${compact(x)}`).join(' ')})` : '';
}

// The actors, in the order broker, handlers, stores, downstream.
function actors(trace) {
  const seen = new Set();
  for (const s of trace.steps) {
    for (const e of envelopes(s.state).values()) { seen.add(e.src); seen.add(e.dst); }
    for (const k of Object.keys(s.state.handlers || s.state.hs || {})) seen.add(k);
    for (const k of Object.keys(s.state)) if (/^store\d*$/.test(k)) seen.add(k);
  }
  seen.add('broker'); seen.add('downstream');
  if (!trace.steps.length || 'docs' in trace.steps[0].state) seen.add('store');
  const rank = (a) => (a === 'broker' ? 0 : /^store/.test(a) ? 2 : a === 'downstream' ? 3 : 1);
  return [...seen].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b, 'en', { numeric: true }));
}

// ---------- the catalog ----------

function verdictCell(tlc, sr) {
  const t = tlc ?? '–', s = sr ?? '–';
  if (tlc && sr && tlc === sr) return `<td class="v-${esc(t)}">${esc(t)}</td>`;
  if (!tlc && !sr) return '<td class="v-none">–</td>';
  // A run that stopped (a limit, Ctrl-C) or TLC's distributed mode (no temporal property) leaves
  // a verdict unknown: undecided, not a disagreement.
  const cls = tlc && sr && tlc !== 'unknown' && sr !== 'unknown' ? 'disagree' : '';
  return `<td class="${cls}"><span class="v-${esc(t)}">${esc(t)}</span> / <span class="v-${esc(s)}">${esc(s)}</span></td>`;
}

function counts(o) { return o ? `${o.distinct_states}/${o.generated_states}` : '–'; }

async function showCatalog() {
  const [cat, res] = await Promise.all([getJSON('/api/catalog'), getJSON('/api/results')]);
  catalog = cat;
  const html = [`<p class="help">Each model file is checked by TLC and by Stateright; a cell shows their common verdict, or <i>TLC / Stateright</i> when only one has run or they differ (red).
    <button id="run-all">Run all</button> checks every model file with both and saves their counterexamples (minutes).</p>`];
  for (const f of cat.families) {
    html.push(`<section class="family" id="family-${esc(f.id)}"><h2>${esc(f.id)}</h2><p>${esc(f.summary)}</p>`);
    html.push(`<p>Variants: ${f.variants.map((v, i) => `<code>${esc(v)}</code>${i === 0 ? ' (correct)' : ''}`).join(', ')}. TLA+ module <code>specs/${esc(f.id)}/${esc(f.module)}.tla</code>.</p>`);
    html.push(`<dl class="props">${f.properties.map((p) => `<dt>${esc(p.name)}</dt><dd>(${esc(p.kind.toLowerCase())}) ${esc(p.doc)}</dd>`).join('')}</dl>`);
    html.push('<table><tr><th>model file</th><th>variant</th>');
    for (const p of f.properties) html.push(`<th title="${esc(p.doc)}">${esc(p.name)}</th>`);
    html.push('<th>states TLC</th><th>states Stateright</th><th>agree</th><th>expected</th><th>last run</th><th></th></tr>');
    const claims = new Set((f.claims || []).map((m) => m.path));
    for (const m of [...f.models, ...(f.claims || [])]) {
      const claim = claims.has(m.path);
      const r = res.results[m.path] || {};
      const c = r.compare;
      const tlc = c ? c.tlc : r.tlc?.tlc, sr = c ? c.stateright : r.stateright?.stateright;
      const at = Math.max(...['compare', 'tlc', 'stateright'].map((k) => r[k]?.saved_at || 0));
      html.push(`<tr data-model="${esc(m.path)}"><td><details><summary><code>${esc(m.path)}</code>${claim ? ' <span class="claim" title="A claim file: the correct variant where concurrency, failures and duplicates meet; make deep checks it with both checkers (hours), make test with Stateright">claim</span>' : ''}</summary><pre>${esc(m.text)}</pre></details></td><td>${esc(m.variant ?? '')}</td>`);
      for (const p of f.properties) html.push(verdictCell(tlc?.properties?.[p.name], sr?.properties?.[p.name]));
      const yn = (b) => (b === true ? '<span class="ok">yes</span>' : b === false ? '<span class="bad">NO</span>' : '–');
      html.push(`<td>${counts(tlc)}</td><td>${counts(sr)}</td><td>${yn(c?.agree)}</td><td>${yn(c ? c.expected : undefined)}</td>`);
      html.push(`<td>${at ? new Date(at * 1000).toLocaleString() : 'never'}</td>`);
      const run = claim ? '<span class="help" title="hours: run make deep, or exactly compare on this file">make deep</span>' : `<button class="run" data-target="${esc(m.path)}">Run</button>`;
      html.push(`<td>${run} <a class="cx" href="#/trace/${esc(f.id)}/${esc(m.stem)}">counterexamples</a></td></tr>`);
    }
    html.push('</table></section>');
  }
  const bench = await fetch('/api/bench').then((r) => (r.ok ? r.json() : null)).catch(() => null);
  if (bench) {
    html.push(`<section class="family" id="bench"><h2>Benchmark: Stateright against TLC</h2>
      <p>Each family's bench model file (a correct variant, a million states or more), checked by TLC (-workers 2) and by Stateright (breadth-first, 2 threads, through the fast path that steps the actor model over compact states: the same states and counts), each as its own process; bars show TLC's wall time and peak memory divided by Stateright's (medians of ${esc(bench.runs)} runs; <code>make bench</code>).</p>
      <img src="/bench/chart.svg" alt="TLC/Stateright time and memory ratios per bench model file"></section>`);
  }
  $('#main').innerHTML = html.join('');
  for (const b of document.querySelectorAll('button.run')) b.onclick = () => startRun(b.dataset.target);
  $('#run-all').onclick = () => startRun('all');
}

// ---------- runs ----------

let polling = null;
async function startRun(target) {
  const r = await fetch(`/api/run?target=${encodeURIComponent(target)}`, { method: 'POST' });
  const body = await r.json();
  if (r.status === 429) alert('A run is going already: wait for it to end.');
  else if (!r.ok) alert(body.error);
  pollRun();
}

async function pollRun() {
  clearTimeout(polling);
  let run;
  try { run = await getJSON('/api/run'); } catch (e) { return; }
  const el = $('#run');
  if (run.state === 'idle') { el.innerHTML = '<span class="help">No run since the server started.</span>'; return; }
  const where = run.models.length > 1 ? `model file ${run.current + 1} of ${run.models.length}: ` : '';
  const bad = Object.entries(run.codes).filter(([, c]) => c !== 0).map(([k, c]) => `${k}: exit ${c}`);
  el.innerHTML = `<b>Run of ${esc(run.target)}</b> — ${esc(run.state)}, ${run.seconds} s. ${run.state === 'running' ? esc(where + (run.model || '') + ', ' + run.phase) : (bad.length ? 'Exit codes: ' + esc(bad.join('; ')) + ' (1: a violation or a missed expectation).' : 'All exit codes 0.')}
    <details ${run.state === 'running' ? 'open' : ''}><summary>progress</summary><pre id="run-log">${esc(run.log.slice(-40).join('\n'))}</pre></details>`;
  const log = $('#run-log'); if (log) log.scrollTop = log.scrollHeight;
  if (run.state === 'running') { el.dataset.state = 'running'; polling = setTimeout(pollRun, 1000); }
  else if (el.dataset.state === 'running') { el.dataset.state = 'done'; route(); }
  else el.dataset.state = run.state;
}

// ---------- the counterexample viewer ----------

const view = { traces: [], trace: null, step: 0, fam: '', stem: '' };

async function showTraces(fam, stem, pick) {
  const data = await getJSON(`/api/traces/${encodeURIComponent(fam)}/${encodeURIComponent(stem)}`);
  const traces = [];
  for (const checker of ['stateright', 'tlc']) for (const t of data[checker]?.traces || []) traces.push(t);
  Object.assign(view, { traces, fam, stem });
  const ran = ['stateright', 'tlc'].filter((c) => data[c]);
  const html = [`<h2>Counterexamples of <code>${esc(data.model)}</code></h2>`];
  if (!ran.length) html.push(`<p>No saved traces. <button class="run" data-target="${esc(data.model)}">Run</button> this model file (or <code>exactly trace ${esc(data.model)}</code>).</p>`);
  else if (!traces.length) html.push('<p>No counterexample: every invariant and liveness property holds.</p>');
  html.push(`<div class="tabs">${traces.map((t, i) => `<button data-i="${i}" data-checker="${esc(t.checker)}">${esc(t.checker)}: ${esc(t.property)} (${t.steps.length - 1} steps)</button>`).join('')}</div>`);
  html.push(`<p class="help">Keys: ← / → (or ↑ / ↓) step back and forward, Home / End. A row of the diagram is a step: an arrow is a message delivered (an envelope that left the network), a box an action without a delivery (a random choice, a crash) on the lifeline of each actor whose state it changed.</p>`);
  html.push('<div class="viewer"><div class="diagram" id="diagram"></div><div class="state" id="state"></div></div>');
  $('#main').innerHTML = html.join('');
  for (const b of document.querySelectorAll('.tabs button')) b.onclick = () => selectTrace(+b.dataset.i);
  for (const b of document.querySelectorAll('button.run')) b.onclick = () => startRun(b.dataset.target);
  if (traces.length) selectTrace(Math.min(pick || 0, traces.length - 1));
}

function selectTrace(i) {
  view.trace = view.traces[i];
  view.step = 0;
  for (const b of document.querySelectorAll('.tabs button')) b.classList.toggle('selected', +b.dataset.i === i);
  drawDiagram();
  selectStep(0);
}

const COL = 150, ROW = 30, LEFT = 60, TOP = 40;

function drawDiagram() {
  const t = view.trace;
  const names = actors(t);
  const x = (a) => LEFT + COL / 2 + Math.max(0, names.indexOf(a)) * COL;
  const width = LEFT + names.length * COL + 20, height = TOP + t.steps.length * ROW + 20;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" data-checker="${esc(t.checker)}">
    <defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1d4fa0"/></marker></defs>`];
  t.steps.forEach((s, i) => {
    const y = TOP + i * ROW;
    out.push(`<g class="row" data-step="${i}"><rect class="bg" x="0" y="${y}" width="${width}" height="${ROW}"/><text class="stepno" x="8" y="${y + 19}">${i}</text></g>`);
  });
  for (const a of names) {
    out.push(`<g class="actor"><text x="${x(a)}" y="22" text-anchor="middle">${esc(a)}</text><line class="lifeline" x1="${x(a)}" y1="${TOP - 8}" x2="${x(a)}" y2="${height - 10}"/></g>`);
  }
  for (let i = 1; i < t.steps.length; i++) {
    const y = TOP + i * ROW + ROW / 2;
    for (const e of events(t, i)) {
      if (e.kind === 'deliver') {
        const x1 = x(e.src), x2 = x(e.dst);
        const label = e.label.length > 30 ? e.label.slice(0, 29) + '…' : e.label;
        const x2b = x2 === x1 ? x1 + 30 : x2;
        out.push(`<g class="arrow" data-step="${i}" data-src="${esc(e.src)}" data-dst="${esc(e.dst)}"><title>${esc(e.src)} → ${esc(e.dst)}: ${esc(e.label)}</title>
          <line x1="${x1}" y1="${y + 4}" x2="${x2b}" y2="${y + 4}" marker-end="url(#head)"/>
          <text x="${(x1 + x2b) / 2}" y="${y - 1}" text-anchor="middle">${esc(label)}</text></g>`);
      } else {
        const cx = e.actor ? x(e.actor) : LEFT + 40;
        const w = Math.min(COL - 10, 8 + e.label.length * 6);
        out.push(`<g class="mark${e.crash ? ' crash' : ''}" data-step="${i}"><title>${esc(t.steps[i].action)}</title>
          <rect x="${cx - w / 2}" y="${y - 9}" width="${w}" height="18" rx="3"/><text x="${cx}" y="${y + 4}" text-anchor="middle">${esc(e.label)}</text></g>`);
      }
    }
  }
  if (t.loops_to !== undefined && t.loops_to !== null) {
    const y = TOP + t.steps.length * ROW + 12;
    out.push(`<text class="loop" x="${LEFT}" y="${y}">${t.loops_to === t.steps.length - 1 ? '(stays in the last state for ever)' : `(loops back to step ${t.loops_to})`}</text>`);
  }
  out.push('</svg>');
  $('#diagram').innerHTML = out.join('');
  for (const g of document.querySelectorAll('#diagram [data-step]')) g.addEventListener('click', () => selectStep(+g.dataset.step));
}

function selectStep(i) {
  const t = view.trace;
  if (!t) return;
  view.step = Math.max(0, Math.min(t.steps.length - 1, i));
  for (const g of document.querySelectorAll('#diagram .row')) g.classList.toggle('current', +g.dataset.step === view.step);
  const cur = $(`#diagram .row[data-step="${view.step}"]`);
  if (cur && cur.scrollIntoView) cur.scrollIntoView({ block: 'nearest' });
  const s = t.steps[view.step];
  // Paths into TLC's functions and sets name the `function`/`set` level, which `simple` removes.
  const changed = new Set(s.changed.map((p) => p.replace(/\.(function|set)$/, '')));
  let explorer = '';
  if (t.explorer_path) {
    const path = t.explorer_path.split('/').slice(0, view.step + 1).join('/');
    explorer = ` <a id="explorer-link" target="_blank" href="/explore/${esc(view.fam)}/${esc(view.stem)}?path=${esc(path)}">open this step in Stateright's Explorer</a>`;
  }
  $('#state').innerHTML = `<div><b>${esc(t.checker)}</b> ${esc(t.kind)} of <b>${esc(t.property)}</b>: step <span id="step-no">${view.step}</span> of ${t.steps.length - 1}.${explorer}</div>
    <div class="action">${esc(s.action)}</div>
    <p class="help">${s.changed.length ? 'Changed (highlighted): ' + esc([...changed].join(', ')) : 'The initial state.'}</p>
    <div class="tree">${tree(simple(s.state), '', changed)}</div>`;
}

// The state as a tree; a part whose path is in `changed` is highlighted.
function tree(v, path, changed) {
  if (v === null || typeof v !== 'object' || (Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object'))) {
    return `<span class="val">${esc(JSON.stringify(v))}</span>`;
  }
  const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v);
  if (!entries.length) return `<span class="val">${Array.isArray(v) ? '[]' : '{}'}</span>`;
  return entries.map(([k, x]) => {
    const p = path ? `${path}.${k}` : k;
    const hit = changed.has(p) || (Array.isArray(v) && changed.has(path));
    return `<div class="${hit ? 'changed' : ''}"><span class="k">${esc(k)}</span>: ${tree(x, p, changed)}</div>`;
  }).join('');
}

document.addEventListener('keydown', (ev) => {
  if (!view.trace || !$('#diagram')) return;
  const moves = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
  if (ev.key in moves) selectStep(view.step + moves[ev.key]);
  else if (ev.key === 'Home') selectStep(0);
  else if (ev.key === 'End') selectStep(view.trace.steps.length - 1);
  else return;
  ev.preventDefault();
});

// ---------- routing ----------

async function route() {
  document.body.dataset.ready = 'no';
  const hash = location.hash;
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  try {
    if (parts[0] === 'trace' && parts.length >= 3) await showTraces(parts[1], parts[2], +(parts[3] || 0));
    else { view.trace = null; await showCatalog(); }
  } catch (e) {
    $('#main').innerHTML = `<p class="bad">${esc(e.message)}</p>`;
  }
  // For the browser test: which view is drawn, and that it is.
  document.body.dataset.view = hash;
  document.body.dataset.ready = 'yes';
}

window.addEventListener('hashchange', route);
route();
pollRun();
