/**
 * The status page's HTML and browser script, served as strings so the gateway needs no static
 * file folder. The script only uses the public tenant API (jobs, events), sending the key as a
 * Bearer header, and polls every 1.5 s while a job runs.
 */

/** Link speed assumed for the per-job link-time estimate (1 Gbit/s), the same as the CLI's. */
export const STATUS_LINK_BYTES_PER_SECOND = 125_000_000;

export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ColA FTaaS · status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d232b; }
  header { background: #1d232b; color: #fff; padding: 10px 20px; display: flex; gap: 16px; align-items: center; }
  header h1 { font-size: 17px; margin: 0 12px 0 0; }
  header input { width: 360px; padding: 5px 8px; border-radius: 4px; border: 0; font-family: monospace; }
  header button { padding: 5px 12px; }
  main { padding: 14px 20px; }
  #error { color: #b00020; margin: 6px 0; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e3e6ea; font-variant-numeric: tabular-nums; }
  tr.job { cursor: pointer; } tr.job:hover { background: #eef3fb; } tr.selected { background: #dde9fb; }
  .status-running { color: #0b6bcb; font-weight: 600; } .status-succeeded { color: #1a7f37; } .status-failed { color: #b00020; } .status-cancelled { color: #777; }
  #detail h2 { font-size: 15px; margin: 16px 0 6px; }
  .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
  .card { background: #fff; border: 1px solid #e3e6ea; border-radius: 6px; padding: 8px 10px; height: 230px; }
  .note { color: #667; font-size: 12px; }
</style>
</head>
<body>
<header>
  <h1>ColA FTaaS · status</h1>
  <label>API key <input id="key" type="password" placeholder="sk-cola-..." autocomplete="off"></label>
  <button id="connect">Show my jobs</button>
  <span id="live" class="note"></span>
</header>
<main>
  <div id="error"></div>
  <table>
    <thead><tr><th>job</th><th>status</th><th>task</th><th>aux</th><th>step</th><th>loss</th><th>bytes moved</th><th>validation</th></tr></thead>
    <tbody id="jobs"><tr><td colspan="8" class="note">Enter a tenant API key to see its fine-tuning jobs.</td></tr></tbody>
  </table>
  <section id="detail" hidden>
    <h2 id="detail-title"></h2>
    <div class="grid">
      <div class="card"><canvas id="loss-chart"></canvas></div>
      <div class="card"><canvas id="validation-chart"></canvas></div>
      <div class="card"><canvas id="throughput-chart"></canvas></div>
      <div class="card"><canvas id="overhead-chart"></canvas></div>
    </div>
    <p class="note">Loss: the training loss the gpu-host reports per step. Validation: the job's evaluation on its validation file (the pipeline evaluates when training ends).
    Tokens/s: host training tokens per second between progress events. Estimated link time (an estimate, not the measured communication overhead): the time the adaptation bytes (hidden states and their gradients) would take on an assumed 1 Gbit/s link, as a share of the training time between events.</p>
  </section>
</main>
<script src="/status/chart.umd.js"></script>
<script src="/status/status.js"></script>
</body>
</html>
`;

export const STATUS_PAGE_SCRIPT = `'use strict';
(function () {
  const LINK = ${STATUS_LINK_BYTES_PER_SECOND};
  const POLL_MS = 1500;
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  let key = params.get('key') || sessionStorage.getItem('cola-key') || '';
  let selected = params.get('job') || null;
  let timer = null;
  // Per job: the event cursor and the points drawn so far.
  const series = new Map();
  const charts = {};

  function fmtBytes(n) {
    if (!n) return '0 B';
    const u = ['B', 'KB', 'MB', 'GB']; let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return n.toFixed(i ? 1 : 0) + ' ' + u[i];
  }
  function eventMs(e) { const m = /^ftevent-(\\d+)-/.exec(e.id); return m ? Number(m[1]) : e.created_at * 1000; }

  async function api(path) {
    const res = await fetch(path, { headers: { authorization: 'Bearer ' + key } });
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new Error((body && body.error) ? body.error.code + ': ' + body.error.message : 'HTTP ' + res.status);
    return body;
  }

  function chart(id, title, datasets, yTitle, extraScales) {
    const scales = { x: { type: 'linear', title: { display: true, text: 'step' } }, y: { title: { display: true, text: yTitle } } };
    charts[id] = new Chart($(id), {
      type: 'line',
      data: { datasets: datasets.map((d) => Object.assign({ data: [], pointRadius: 2, borderWidth: 2, tension: 0.2 }, d)) },
      options: { animation: false, responsive: true, maintainAspectRatio: false, parsing: false, plugins: { title: { display: true, text: title } }, scales: Object.assign(scales, extraScales || {}) },
    });
  }
  function makeCharts() {
    if (charts['loss-chart']) return;
    chart('loss-chart', 'Training loss', [{ label: 'loss', borderColor: '#0b6bcb' }], 'loss');
    chart('validation-chart', 'Validation', [{ label: 'validation', borderColor: '#1a7f37', pointRadius: 5, showLine: false }], 'metric');
    chart('throughput-chart', 'Host tokens per second', [{ label: 'tokens/s', borderColor: '#8250df' }], 'tokens/s');
    chart('overhead-chart', 'Estimated link time (1 Gbit/s)', [
      { label: 'est. link time % (1 Gbit/s)', borderColor: '#cf222e', yAxisID: 'y' },
      { label: 'bytes moved (MB)', borderColor: '#9a6700', yAxisID: 'y1' },
    ], '%', { y1: { position: 'right', title: { display: true, text: 'MB' }, grid: { drawOnChartArea: false } } });
  }

  function seriesOf(id) {
    if (!series.has(id)) series.set(id, { after: null, points: new Map() });
    return series.get(id);
  }

  // Points come from the job's metrics events (every few steps, with the host's timestamps) and
  // from the job's progress at each poll (the latest step), so a running job gains a point per step.
  function addPoint(s, step, loss, tokens, bytes, t) {
    if (step === undefined || step <= 0 || s.points.has(step)) return;
    s.points.set(step, { step: step, loss: loss, tokens: tokens, bytes: bytes || 0, t: t });
  }

  async function pullEvents(job) {
    const s = seriesOf(job.id);
    for (;;) {
      const page = await api('/v1/fine_tuning/jobs/' + job.id + '/events?limit=100' + (s.after ? '&after=' + s.after : ''));
      for (const e of page.data) {
        s.after = e.id;
        const d = e.data;
        if (d) addPoint(s, d.step, d.loss, d.tokens, d.bytes, eventMs(e));
      }
      if (!page.has_more || page.data.length === 0) break;
    }
    const p = job.progress;
    if (p && job.status === 'running') addPoint(s, p.step, p.loss, p.tokens, p.bytes_transferred, Date.now());
    return s;
  }

  function drawJob(job, s) {
    makeCharts();
    const pts = Array.from(s.points.values()).sort((a, b) => a.step - b.step);
    const loss = [], bytes = [], tput = [], overhead = [];
    // Rates over a window of about 6 s: host event times and poll times differ by up to a poll period.
    const timed = pts.filter((q) => q.tokens !== undefined);
    for (const q of pts) {
      if (q.loss !== undefined) loss.push({ x: q.step, y: q.loss });
      bytes.push({ x: q.step, y: q.bytes / 1e6 });
    }
    for (let i = 1; i < timed.length; i++) {
      const q = timed[i];
      let j = i - 1;
      while (j > 0 && q.t - timed[j - 1].t <= 6000) j--;
      const p = timed[j];
      if (q.t <= p.t) continue;
      const sec = (q.t - p.t) / 1000;
      tput.push({ x: q.step, y: (q.tokens - p.tokens) / sec });
      overhead.push({ x: q.step, y: (100 * ((q.bytes - p.bytes) / LINK)) / sec });
    }
    $('detail').hidden = false;
    $('detail').dataset.jobId = job.id;
    $('detail-title').textContent = job.id + ' · ' + job.task + ' · ' + job.method.aux.type + ' aux · ' + job.status;
    charts['loss-chart'].data.datasets[0].data = loss;
    const v = charts['validation-chart'];
    v.data.datasets[0].data = job.result ? [{ x: job.progress ? job.progress.step : 0, y: job.result.value }] : [];
    v.data.datasets[0].label = job.result ? job.result.metric : 'validation (when training ends)';
    charts['throughput-chart'].data.datasets[0].data = tput;
    charts['overhead-chart'].data.datasets[0].data = overhead;
    charts['overhead-chart'].data.datasets[1].data = bytes;
    for (const c of Object.values(charts)) c.update('none');
  }

  function renderJobs(jobs) {
    const body = $('jobs');
    body.textContent = '';
    if (jobs.length === 0) { body.innerHTML = '<tr><td colspan="8" class="note">No jobs yet for this key.</td></tr>'; return; }
    for (const j of jobs) {
      const tr = document.createElement('tr');
      tr.className = 'job' + (j.id === selected ? ' selected' : '');
      tr.dataset.jobId = j.id;
      tr.dataset.status = j.status;
      const p = j.progress;
      const cells = [j.id, j.status, j.task, j.method.aux.type, p ? p.step + '/' + p.total_steps : '-', p ? p.loss.toFixed(4) : '-', fmtBytes(p ? p.bytes_transferred : 0), j.result ? j.result.metric + ' ' + j.result.value.toFixed(4) : ''];
      cells.forEach((c, i) => { const td = document.createElement('td'); td.textContent = c; if (i === 1) td.className = 'status-' + j.status; tr.appendChild(td); });
      tr.addEventListener('click', () => { selected = j.id; refresh(); });
      body.appendChild(tr);
    }
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      const list = await api('/v1/fine_tuning/jobs?limit=50');
      const jobs = list.data;
      if (!selected || !jobs.some((j) => j.id === selected)) {
        const running = jobs.find((j) => j.status === 'running');
        selected = running ? running.id : jobs[0] ? jobs[0].id : null;
      }
      renderJobs(jobs);
      const job = jobs.find((j) => j.id === selected);
      if (job) drawJob(job, await pullEvents(job));
      $('error').textContent = '';
      const live = jobs.some((j) => ['queued', 'running', 'cancelling'].includes(j.status));
      $('live').textContent = live ? 'live · updated ' + new Date().toLocaleTimeString() : 'updated ' + new Date().toLocaleTimeString();
    } catch (e) {
      $('error').textContent = String(e.message || e);
    }
    timer = setTimeout(refresh, POLL_MS);
  }

  $('key').value = key;
  $('connect').addEventListener('click', () => { key = $('key').value.trim(); sessionStorage.setItem('cola-key', key); series.clear(); selected = null; refresh(); });
  if (key) refresh();
})();
`;
