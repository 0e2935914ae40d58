// The nextbest console: plain ES modules run as they are (no build step),
// drawn with preact + htm, charts by Chart.js; all served by the service itself.
// Every piece of data comes from the admin-scoped JSON APIs.
import { h, render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);
const KEY_STORAGE = 'nextbest.consoleKey';

/** The base of the API: the folder the console page is served from. */
const BASE = new URL('.', window.location.href);

class AuthNeeded extends Error {}

/** Calls the API with the key kept for this tab (a header, never the URL). */
async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(new URL(path.replace(/^\//, ''), BASE), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (res.status === 401 || res.status === 403) {
    throw new AuthNeeded(res.status === 403 ? 'This key lacks the admin scope the console needs.' : key ? 'This key is not accepted.' : 'This service asks for an API key.');
  }
  return { status: res.status, ok: res.ok, body: json };
}

/** A problem's words for a person: its detail and each field at fault. */
function problemText(answer) {
  const body = answer.body ?? {};
  const fields = (body.errors ?? []).map((e) => `${e.path}: ${e.message}`);
  return [body.detail ?? `The service answered ${answer.status}.`, ...fields].join('\n');
}

// ---- routing: #/view/argument -------------------------------------------------

const VIEWS = [
  ['rules', 'Rules'],
  ['customer', 'Customer'],
  ['simulate', 'Simulator'],
  ['reports', 'Reports'],
  ['journey', 'Journey map'],
];

function readHash() {
  const [, view = 'rules', ...rest] = window.location.hash.split('/');
  return { view: VIEWS.some(([id]) => id === view) ? view : 'rules', arg: decodeURIComponent(rest.join('/')) };
}

function useHash() {
  const [route, setRoute] = useState(readHash());
  useEffect(() => {
    const changed = () => setRoute(readHash());
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return route;
}

/** Loads once per change of `deps`; AuthNeeded goes to the app, which asks for a key. */
function useApi(load, deps, onAuth) {
  const [state, setState] = useState({ loading: true, answer: null, error: null });
  useEffect(() => {
    let live = true;
    setState({ loading: true, answer: null, error: null });
    load()
      .then((answer) => live && setState({ loading: false, answer, error: null }))
      .catch((error) => {
        if (!live) return;
        if (error instanceof AuthNeeded) onAuth(error.message);
        setState({ loading: false, answer: null, error: error.message });
      });
    return () => {
      live = false;
    };
  }, deps);
  return state;
}

// ---- small pieces ---------------------------------------------------------------

const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const pct = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`);

function Loading() {
  return html`<p class="muted" role="status">Loading…</p>`;
}

function Problem({ text }) {
  return html`<pre class="problem" role="alert">${text}</pre>`;
}

function Json({ value }) {
  return html`<pre class="json">${JSON.stringify(value, null, 2)}</pre>`;
}

function Chart({ config, label }) {
  const canvas = useRef(null);
  useEffect(() => {
    if (!window.Chart || !canvas.current) return undefined;
    const chart = new window.Chart(canvas.current, { ...config, options: { responsive: true, maintainAspectRatio: false, animation: false, ...config.options } });
    return () => chart.destroy();
  }, [JSON.stringify(config)]);
  return html`<div class="chart"><canvas ref=${canvas} role="img" aria-label=${label}></canvas></div>`;
}

// ---- the key form ---------------------------------------------------------------

function KeyForm({ message, onKey }) {
  const [key, setKey] = useState('');
  return html`<form class="card key-form" onSubmit=${(e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, key.trim());
    onKey();
  }}>
    <h2>API key</h2>
    <p>${message} Enter a key with the <code>admin</code> scope. It stays in this tab only and is sent as a header.</p>
    <label for="api-key">Key</label>
    <input id="api-key" name="api-key" type="password" autocomplete="off" required value=${key} onInput=${(e) => setKey(e.target.value)} autofocus />
    <button type="submit">Use this key</button>
  </form>`;
}

// ---- rules overview -------------------------------------------------------------

function ErrorList({ title, errors, kind }) {
  if (!errors || errors.length === 0) return html`<p class="ok">No ${title.toLowerCase()}.</p>`;
  return html`<div class="table-wrap"><table class=${kind}>
    <caption>${title} (${errors.length})</caption>
    <thead><tr><th scope="col">File</th><th scope="col">Path</th><th scope="col">Message</th></tr></thead>
    <tbody>${errors.map((e) => html`<tr><td><code>${e.file}</code></td><td><code>${e.path}</code></td><td>${e.message}</td></tr>`)}</tbody>
  </table></div>`;
}

function window_(rule) {
  if (!rule.activeFrom && !rule.activeUntil) return 'always';
  return `${rule.activeFrom ? fmtTime(rule.activeFrom) : '…'} → ${rule.activeUntil ? fmtTime(rule.activeUntil) : '…'}`;
}

function RulesView({ onAuth }) {
  const { loading, answer, error } = useApi(() => api('GET', '/v1/rules'), [], onAuth);
  if (loading) return html`<${Loading} />`;
  if (error) return html`<${Problem} text=${error} />`;
  if (!answer.ok) return html`<${Problem} text=${problemText(answer)} />`;
  const s = answer.body;
  return html`<section aria-labelledby="rules-title">
    <h2 id="rules-title">Rules overview</h2>
    <dl class="facts">
      <dt>Version</dt><dd><code>${s.version ?? 'none loaded'}</code></dd>
      <dt>Loaded at</dt><dd>${fmtTime(s.loadedAt)}</dd>
      <dt>Reloads</dt><dd>${s.reloads?.success ?? 0} good, ${s.reloads?.failure ?? 0} failed</dd>
    </dl>
    <${ErrorList} title="Errors" errors=${s.errors} kind="errors" />
    <${ErrorList} title="Warnings" errors=${s.warnings} kind="warnings" />
    ${(s.placementRules ?? []).map((p) => html`<article class="card" key=${p.placement}>
      <h3>${p.placement} <small class="muted">${p.file} · up to ${p.maxItems} item${p.maxItems === 1 ? '' : 's'}</small></h3>
      <p>Optimize: ${p.optimize ? html`<strong>${p.optimize.goal}</strong>, explore ${p.optimize.explore}` : 'no (priority order)'} · Fallback: ${p.fallback.length ? p.fallback.join(', ') : 'none'}</p>
      <div class="table-wrap"><table>
        <thead><tr><th scope="col">Rule</th><th scope="col">Priority</th><th scope="col">Enabled</th><th scope="col">Active</th><th scope="col">Items</th><th scope="col">Caps</th></tr></thead>
        <tbody>${p.rules.map((r) => html`<tr class=${r.enabled ? '' : 'disabled'}>
          <td>${r.name}</td><td>${r.priority}</td><td>${r.enabled ? 'yes' : 'no'}</td><td>${window_(r)}</td>
          <td>${r.items.join(', ')}</td>
          <td>${r.caps.length ? r.caps.map((c) => html`<div>${c.item}: ${c.max} ${c.kind}${c.max === 1 ? '' : 's'}${c.withinDays ? ` / ${c.withinDays} d` : ''}${c.scope === 'all' ? ' (all)' : ''}</div>`) : '—'}</td>
        </tr>`)}</tbody>
      </table></div>
    </article>`)}
  </section>`;
}

// ---- decisions and their traces ---------------------------------------------------

function Mark({ ok }) {
  return html`<span class=${ok ? 'yes' : 'no'} aria-label=${ok ? 'holds' : 'does not hold'}>${ok ? '✓' : '✗'}</span>`;
}

function ConditionTree({ node }) {
  if (!node) return null;
  if (node.all || node.any) {
    const word = node.all ? 'all of' : 'any of';
    return html`<li><${Mark} ok=${node.result} /> ${word}<ul>${(node.all ?? node.any).map((n) => html`<${ConditionTree} node=${n} />`)}</ul></li>`;
  }
  if (node.not) return html`<li><${Mark} ok=${node.result} /> not<ul><${ConditionTree} node=${node.not} /></ul></li>`;
  if (node.condition) {
    return html`<li><${Mark} ok=${node.result} /> segment <strong>${node.condition}</strong><ul><${ConditionTree} node=${node.conditions} /></ul></li>`;
  }
  const params = node.params ? `(${JSON.stringify(node.params)})` : '';
  return html`<li><${Mark} ok=${node.result} /> <code>${node.fact}${params}${node.path ? ` ${node.path}` : ''}</code> ${node.operator} <code>${JSON.stringify(node.value)}</code>
    <span class="muted"> — was <code>${'factValue' in node ? JSON.stringify(node.factValue) : 'nothing'}</code></span></li>`;
}

function RuleTrace({ rule }) {
  const matched = rule.outcome === 'matched';
  return html`<li class="rule-trace">
    <details open=${matched}>
      <summary><${Mark} ok=${matched} /> <strong>${rule.name}</strong> <span class="muted">priority ${rule.priority} · ${rule.outcome}${rule.stage ? ` → ${rule.stage}` : ''}</span></summary>
      ${rule.conditions ? html`<ul class="tree"><${ConditionTree} node=${rule.conditions} /></ul>` : ''}
      ${rule.items ? html`<p>Items: ${rule.items.map((i) => html`<span class=${`pill ${i.outcome}`}>${i.id}: ${i.outcome}${i.cap ? ` (${i.count}/${i.cap.max} ${i.cap.kind})` : ''}</span> `)}</p>` : ''}
    </details>
  </li>`;
}

function DecisionView({ decision }) {
  const stage = decision.stageTrace;
  return html`<div class="decision" data-testid="decision">
    <p>Stage <strong>${decision.stage}</strong> (${decision.stageSource}) · rules <code>${decision.rulesVersion}</code>${decision.asOf ? html` · as of ${fmtTime(decision.asOf)}` : ''}</p>
    ${Object.entries(decision.placements).map(([name, p]) => html`<article class="card" key=${name}>
      <h4>${name} ${p.fallback ? html`<span class="pill fallback">fallback</span>` : ''}</h4>
      ${p.items.length ? html`<ol>${p.items.map((i) => html`<li><strong>${i.id}</strong> <span class="muted">${i.kind} · rule ${i.rule ?? '(fallback)'}</span>${i.title ? ` — ${i.title}` : ''}</li>`)}</ol>` : html`<p class="muted">Nothing served.</p>`}
      ${p.trace ? html`<h5>Why</h5><ul class="trace" aria-label=${`explain trace of ${name}`}>${p.trace.map((r) => html`<${RuleTrace} rule=${r} />`)}</ul>` : ''}
    </article>`)}
    ${stage ? html`<article class="card"><h4>How the stage was decided</h4>
      <p>${stage.source === 'explicit' ? 'Set explicitly.' : stage.rule ? `Stage rule ${stage.rule}.` : 'No stage rule matched: the first stage.'}</p>
      ${stage.rules.length ? html`<ul class="trace">${stage.rules.map((r) => html`<${RuleTrace} rule=${r} />`)}</ul>` : ''}
    </article>` : ''}
  </div>`;
}

function usePlacements(onAuth) {
  const { answer } = useApi(() => api('GET', '/v1/rules'), [], onAuth);
  return answer?.ok ? answer.body.placements : [];
}

// ---- a customer ---------------------------------------------------------------------

function CustomerView({ arg, onAuth }) {
  const [id, setId] = useState(arg);
  const placements = usePlacements(onAuth);
  useEffect(() => setId(arg), [arg]);
  return html`<section aria-labelledby="customer-title">
    <h2 id="customer-title">Customer</h2>
    <form class="inline" onSubmit=${(e) => {
      e.preventDefault();
      window.location.hash = `#/customer/${encodeURIComponent(id.trim())}`;
    }}>
      <label for="customer-id">Customer id</label>
      <input id="customer-id" value=${id} onInput=${(e) => setId(e.target.value)} required pattern="[A-Za-z0-9._:@\\-]{1,128}" />
      <button type="submit">Look up</button>
    </form>
    ${arg ? html`<${CustomerProfile} id=${arg} placements=${placements} onAuth=${onAuth} />` : ''}
  </section>`;
}

function CustomerProfile({ id, placements, onAuth }) {
  const { loading, answer, error } = useApi(() => api('GET', `/v1/customers/${encodeURIComponent(id)}`), [id], onAuth);
  if (loading) return html`<${Loading} />`;
  if (error) return html`<${Problem} text=${error} />`;
  if (answer.status === 404) return html`<p role="status">No customer <code>${id}</code> is stored: a decision treats them as a new visitor.</p><${DecideForm} id=${id} placements=${placements} onAuth=${onAuth} />`;
  if (!answer.ok) return html`<${Problem} text=${problemText(answer)} />`;
  const p = answer.body;
  return html`<div class="columns">
    <article class="card">
      <h3>${p.customerId}</h3>
      <dl class="facts">
        <dt>Stage</dt><dd><strong>${p.stage}</strong> (${p.stageSource})</dd>
        <dt>Touchpoints</dt><dd>${p.touchpointCount}</dd>
        ${p.aliases?.length ? html`<dt>Aliases</dt><dd>${p.aliases.join(', ')}</dd>` : ''}
        ${p.createdAt ? html`<dt>First seen</dt><dd>${fmtTime(p.createdAt)}</dd>` : ''}
      </dl>
      <h4>Attributes</h4>
      <${Json} value=${p.attributes} />
      <h4>Touchpoint timeline</h4>
      ${p.touchpoints.length ? html`<ol class="timeline">${p.touchpoints.map((t) => html`<li><time datetime=${t.at}>${fmtTime(t.at)}</time> <strong>${t.type}</strong> <span class="muted">on ${t.channel}</span></li>`)}</ol>` : html`<p class="muted">None.</p>`}
      ${p.outcomes?.length ? html`<h4>Outcomes</h4><div class="table-wrap"><table><thead><tr><th scope="col">When</th><th scope="col">Kind</th><th scope="col">Placement</th><th scope="col">Item</th><th scope="col">Value</th></tr></thead>
        <tbody>${p.outcomes.map((o) => html`<tr><td>${fmtTime(o.at)}</td><td>${o.kind}</td><td>${o.placement}</td><td>${o.item}</td><td>${o.value ?? ''}</td></tr>`)}</tbody></table></div>` : ''}
    </article>
    <div><${DecideForm} id=${id} placements=${placements} onAuth=${onAuth} /></div>
  </div>`;
}

function DecideForm({ id, placements, onAuth }) {
  const [placement, setPlacement] = useState('');
  const [channel, setChannel] = useState('web');
  const [result, setResult] = useState(null);
  const chosen = placement || placements[0] || '';
  async function submit(e) {
    e.preventDefault();
    setResult({ loading: true });
    try {
      const context = channel ? { channel } : {};
      const answer = await api('POST', '/v1/decisions', { customerId: id, placements: [chosen], context, explain: true });
      setResult({ answer });
    } catch (error) {
      if (error instanceof AuthNeeded) onAuth(error.message);
      setResult({ error: error.message });
    }
  }
  return html`<article class="card">
    <h3>Decision</h3>
    <form class="inline" onSubmit=${submit}>
      <label for="decide-placement">Placement</label>
      <select id="decide-placement" value=${chosen} onChange=${(e) => setPlacement(e.target.value)}>${placements.map((p) => html`<option value=${p}>${p}</option>`)}</select>
      <label for="decide-channel">Channel</label>
      <input id="decide-channel" value=${channel} onInput=${(e) => setChannel(e.target.value)} placeholder="web" />
      <button type="submit">Decide and explain</button>
    </form>
    ${result?.loading ? html`<${Loading} />` : ''}
    ${result?.error ? html`<${Problem} text=${result.error} />` : ''}
    ${result?.answer ? (result.answer.ok ? html`<${DecisionView} decision=${result.answer.body} />` : html`<${Problem} text=${problemText(result.answer)} />`) : ''}
  </article>`;
}

// ---- the simulator -------------------------------------------------------------------

const SAMPLE_PROFILE = JSON.stringify(
  { attributes: { tier: 'gold' }, stage: null, touchpoints: [{ type: 'cart_add', channel: 'web', at: new Date(Date.now() - 2 * 86400000).toISOString() }] },
  null,
  2,
);

function localInputValue(date) {
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return shifted.toISOString().slice(0, 16);
}

function SimulateView({ onAuth }) {
  const placements = usePlacements(onAuth);
  const [profile, setProfile] = useState(SAMPLE_PROFILE);
  const [context, setContext] = useState('{ "channel": "web" }');
  const [asOf, setAsOf] = useState(localInputValue(new Date()));
  const [picked, setPicked] = useState(null);
  const [result, setResult] = useState(null);
  const chosen = picked ?? placements;
  async function submit(e) {
    e.preventDefault();
    let body;
    try {
      body = { profile: JSON.parse(profile || '{}'), context: JSON.parse(context || '{}'), placements: chosen, asOf: new Date(asOf).toISOString() };
    } catch (error) {
      setResult({ error: `Not JSON: ${error.message}` });
      return;
    }
    setResult({ loading: true });
    try {
      setResult({ answer: await api('POST', '/v1/simulate', body) });
    } catch (error) {
      if (error instanceof AuthNeeded) onAuth(error.message);
      setResult({ error: error.message });
    }
  }
  return html`<section aria-labelledby="simulate-title">
    <h2 id="simulate-title">Simulator</h2>
    <p class="muted">A hypothetical customer and moment: nothing is stored.</p>
    <form class="card stack" onSubmit=${submit}>
      <label for="sim-profile">Profile (attributes, stage, touchpoints)</label>
      <textarea id="sim-profile" rows="9" spellcheck="false" value=${profile} onInput=${(e) => setProfile(e.target.value)}></textarea>
      <label for="sim-context">Context</label>
      <textarea id="sim-context" rows="2" spellcheck="false" value=${context} onInput=${(e) => setContext(e.target.value)}></textarea>
      <label for="sim-asof">As of (your local time)</label>
      <input id="sim-asof" type="datetime-local" value=${asOf} onInput=${(e) => setAsOf(e.target.value)} required />
      <fieldset><legend>Placements</legend>
        ${placements.map((p) => html`<label class="check"><input type="checkbox" checked=${chosen.includes(p)} onChange=${(e) => setPicked(e.target.checked ? [...chosen, p] : chosen.filter((x) => x !== p))} /> ${p}</label>`)}
      </fieldset>
      <button type="submit">Simulate</button>
    </form>
    ${result?.loading ? html`<${Loading} />` : ''}
    ${result?.error ? html`<${Problem} text=${result.error} />` : ''}
    ${result?.answer ? (result.answer.ok ? html`<${DecisionView} decision=${result.answer.body} />` : html`<${Problem} text=${problemText(result.answer)} />`) : ''}
  </section>`;
}

// ---- placement reports ----------------------------------------------------------------

const dayString = (date) => date.toISOString().slice(0, 10);

function ReportsView({ arg, onAuth }) {
  const placements = usePlacements(onAuth);
  const placement = arg || placements[0] || '';
  const [to, setTo] = useState(dayString(new Date()));
  const [from, setFrom] = useState(dayString(new Date(Date.now() - 6 * 86400000)));
  const [range, setRange] = useState({ from, to });
  return html`<section aria-labelledby="reports-title">
    <h2 id="reports-title">Placement reports</h2>
    <form class="inline" onSubmit=${(e) => {
      e.preventDefault();
      setRange({ from, to });
    }}>
      <label for="report-placement">Placement</label>
      <select id="report-placement" value=${placement} onChange=${(e) => (window.location.hash = `#/reports/${encodeURIComponent(e.target.value)}`)}>${placements.map((p) => html`<option value=${p}>${p}</option>`)}</select>
      <label for="report-from">From</label><input id="report-from" type="date" value=${from} onInput=${(e) => setFrom(e.target.value)} />
      <label for="report-to">To</label><input id="report-to" type="date" value=${to} onInput=${(e) => setTo(e.target.value)} />
      <button type="submit">Show</button>
    </form>
    ${placement ? html`<${PlacementReport} placement=${placement} from=${range.from} to=${range.to} onAuth=${onAuth} />` : ''}
  </section>`;
}

function PlacementReport({ placement, from, to, onAuth }) {
  const path = `/v1/reports/placements/${encodeURIComponent(placement)}?from=${from}&to=${to}`;
  const { loading, answer, error } = useApi(() => api('GET', path), [path], onAuth);
  if (loading) return html`<${Loading} />`;
  if (error) return html`<${Problem} text=${error} />`;
  if (answer.status === 501 || (answer.status === 404 && /^no route/.test(answer.body?.detail ?? ''))) {
    return html`<p class="notice" role="status">Placement reports are not served by this version of the service yet (it answered ${answer.status}).</p>`;
  }
  if (!answer.ok) return html`<${Problem} text=${problemText(answer)} />`;
  const report = answer.body;
  if (!report.rows.length) return html`<p role="status">Nothing was served from ${placement} between ${report.from} and ${report.to}.</p>`;
  return html`<div>
    <div class="table-wrap"><table>
      <caption>${placement}, ${report.from} to ${report.to}</caption>
      <thead><tr><th scope="col">Rule</th><th scope="col">Item</th><th scope="col">Served</th><th scope="col">Impressions</th><th scope="col">Clicks</th><th scope="col">Conversions</th><th scope="col">Dismisses</th><th scope="col">Value</th><th scope="col">CTR</th><th scope="col">Conversion rate</th></tr></thead>
      <tbody>${report.rows.map((r) => html`<tr><td>${r.rule ?? '(fallback)'}</td><td>${r.item}</td><td>${r.served}</td><td>${r.impressions}</td><td>${r.clicks}</td><td>${r.conversions}</td><td>${r.dismisses}</td><td>${r.value}</td>
        <td>${r.ctr ? `${pct(r.ctr.rate)} (${pct(r.ctr.low)}–${pct(r.ctr.high)})` : '—'}</td><td>${r.conversionRate ? `${pct(r.conversionRate.rate)} (${pct(r.conversionRate.low)}–${pct(r.conversionRate.high)})` : '—'}</td></tr>`)}</tbody>
    </table></div>
    <div class="grid">${report.rows.map((r) => html`<article class="card" key=${`${r.rule}/${r.item}`}>
      <h4>${r.item} <small class="muted">${r.rule ?? 'fallback'}</small></h4>
      ${r.days ? html`<${Chart} label=${`${r.item} by day`} config=${{
        type: 'line',
        data: {
          labels: r.days.map((d) => d.day),
          datasets: [
            { label: 'served', data: r.days.map((d) => d.served), borderColor: '#64748b' },
            { label: 'impressions', data: r.days.map((d) => d.impressions), borderColor: '#2563eb' },
            { label: 'clicks', data: r.days.map((d) => d.clicks), borderColor: '#16a34a' },
            { label: 'conversions', data: r.days.map((d) => d.conversions), borderColor: '#c2410c' },
          ],
        },
      }} />` : html`<p class="muted">No daily figures in this answer.</p>`}
    </article>`)}</div>
  </div>`;
}

// ---- the journey map ---------------------------------------------------------------------

const STAGE_COLOURS = ['#93c5fd', '#60a5fa', '#3b82f6', '#1d4ed8', '#1e3a8a', '#0f172a'];

function JourneyView({ onAuth }) {
  const [days, setDays] = useState('30');
  const [asked, setAsked] = useState('30');
  const { loading, answer, error } = useApi(() => api('GET', `/v1/reports/journey?days=${encodeURIComponent(asked)}`), [asked], onAuth);
  return html`<section aria-labelledby="journey-title">
    <h2 id="journey-title">Journey map</h2>
    <form class="inline" onSubmit=${(e) => {
      e.preventDefault();
      setAsked(days);
    }}>
      <label for="journey-days">Compare with (days ago)</label>
      <input id="journey-days" type="number" min="1" max="365" value=${days} onInput=${(e) => setDays(e.target.value)} />
      <button type="submit">Show</button>
    </form>
    ${loading ? html`<${Loading} />` : error ? html`<${Problem} text=${error} />` : !answer.ok ? html`<${Problem} text=${problemText(answer)} />` : html`<${JourneyMap} map=${answer.body} />`}
  </section>`;
}

function JourneyMap({ map }) {
  const stages = map.stages.map((s) => s.stage);
  const colour = (i) => STAGE_COLOURS[i % STAGE_COLOURS.length];
  return html`<div>
    <p class="muted">${map.customers} customers · computed ${fmtTime(map.asOf)} · rules <code>${map.rulesVersion}</code></p>
    <div class="stages">${map.stages.map((s, i) => html`<div class="stage" style=${`border-top-color:${colour(i)}`}>
      <strong>${s.stage}</strong><span class="big">${pct(s.share)}</span><span class="muted">${s.customers} now · ${s.customersThen} then</span>
    </div>`)}</div>
    <div class="columns">
      <article class="card"><h3>Stages, now and ${map.days} days ago</h3>
        <${Chart} label="customers per stage now and then" config=${{
          type: 'bar',
          data: { labels: stages, datasets: [
            { label: `${map.days} days ago`, data: map.stages.map((s) => s.customersThen), backgroundColor: '#cbd5e1' },
            { label: 'now', data: map.stages.map((s) => s.customers), backgroundColor: '#2563eb' },
          ] },
        }} />
      </article>
      <article class="card"><h3>Flow: where each stage's customers are now</h3>
        <${Chart} label="customers by stage then, split by stage now" config=${{
          type: 'bar',
          data: {
            labels: stages.map((s) => `from ${s}`),
            datasets: stages.map((to, i) => ({
              label: `now ${to}`,
              data: stages.map((from) => map.transitions.find((t) => t.from === from && t.to === to)?.customers ?? 0),
              backgroundColor: colour(i),
            })),
          },
          options: { indexAxis: 'y', scales: { x: { stacked: true }, y: { stacked: true } } },
        }} />
      </article>
    </div>
    <article class="card"><h3>Transitions</h3><div class="table-wrap"><table>
      <thead><tr><th scope="col">${map.days} days ago</th><th scope="col">Now</th><th scope="col">Customers</th></tr></thead>
      <tbody>${map.transitions.map((t) => html`<tr><td>${t.from}</td><td>${t.from === t.to ? '(stayed)' : t.to}</td><td>${t.customers}</td></tr>`)}</tbody>
    </table></div></article>
    <article class="card"><h3>Top touchpoints per stage, last ${map.days} days</h3><div class="grid">
      ${map.stages.map((s) => {
        const rows = map.touchpoints.filter((t) => t.stage === s.stage).slice(0, 5);
        return html`<div><h4>${s.stage}</h4>${rows.length ? html`<ol>${rows.map((t) => html`<li>${t.type} <span class="muted">on ${t.channel}</span>: ${t.count}</li>`)}</ol>` : html`<p class="muted">None.</p>`}</div>`;
      })}
    </div></article>
  </div>`;
}

// ---- the app --------------------------------------------------------------------------------

function App() {
  const route = useHash();
  const [auth, setAuth] = useState(null);
  const [generation, setGeneration] = useState(0);
  const onAuth = (message) => setAuth(message);
  const View = { rules: RulesView, customer: CustomerView, simulate: SimulateView, reports: ReportsView, journey: JourneyView }[route.view];
  return html`<a class="skip" href="#main">Skip to content</a>
    <header>
      <h1>nextbest <span class="muted">console</span></h1>
      <nav aria-label="Views"><ul>${VIEWS.map(([id, label]) => html`<li><a href=${`#/${id}`} aria-current=${route.view === id ? 'page' : undefined}>${label}</a></li>`)}</ul></nav>
      ${sessionStorage.getItem(KEY_STORAGE) ? html`<button class="link" type="button" onClick=${() => {
        sessionStorage.removeItem(KEY_STORAGE);
        setGeneration(generation + 1);
      }}>Forget key</button>` : ''}
    </header>
    <main id="main" tabindex="-1">
      ${auth ? html`<${KeyForm} message=${auth} onKey=${() => {
        setAuth(null);
        setGeneration(generation + 1);
      }} />` : html`<${View} key=${`${route.view}/${generation}`} arg=${route.arg} onAuth=${onAuth} />`}
    </main>`;
}

render(html`<${App} />`, document.getElementById('app'));
