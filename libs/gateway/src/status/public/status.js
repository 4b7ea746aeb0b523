// @ts-check
// The status page's browser script, served as is at /status/status.js. It is type-checked
// (tsconfig.json next to it, DOM lib, checkJs) and linted like the rest of the tree. It only uses
// the public tenant API (jobs, events), sending the key as a Bearer header, and polls every 1.5 s.
'use strict';

/**
 * @typedef {{ code: string; message: string; param?: string | null }} ApiErrorDetail
 * @typedef {{ step: number; total_steps: number; loss: number; tokens: number; bytes_transferred: number }} JobProgress
 * @typedef {{ metric: string; before?: number | null; value: number | null; count: number }} JobResult
 * @typedef {{
 *   id: string; status: string; task: string; method: { aux: { type: string } };
 *   progress: JobProgress | null; result: JobResult | null; error: ApiErrorDetail | null;
 *   estimated_finish: number | null;
 * }} Job
 * @typedef {{ step?: number; loss?: number; tokens?: number; bytes?: number; validation?: number }} EventData
 * @typedef {{ id: string; created_at: number; level: string; message: string; data: EventData | null }} JobEvent
 * @typedef {{ step: number; loss: number | undefined; tokens: number | undefined; bytes: number; t: number }} Point
 * @typedef {{ after: string | null; points: Map<number, Point>; validation: Map<number, number>; events: JobEvent[] }} Series
 * @typedef {{ x: number; y: number }} XY
 * @typedef {import('chart.js').Chart<'line', XY[]>} LineChart
 */

/**
 * @template T
 * @typedef {{ data: T[]; has_more: boolean }} ListPage
 */

(function () {
  /** Link speed assumed for the per-job link-time estimate (1 Gbit/s), the same as the CLI's. */
  const LINK_BYTES_PER_SECOND = 125_000_000;
  const POLL_MS = 1500;
  /** Most events listed under the charts (the newest). */
  const EVENT_ROWS = 50;
  const ChartJs = /** @type {{ Chart: typeof import('chart.js').Chart }} */ (/** @type {unknown} */ (window)).Chart;

  /**
   * @param {string} id
   * @returns {HTMLElement}
   */
  function $(id) {
    const el = document.getElementById(id);
    if (!el) throw new Error('status page: missing #' + id);
    return el;
  }
  const keyInput = /** @type {HTMLInputElement} */ ($('key'));
  const params = new URLSearchParams(location.search);
  let key = params.get('key') || sessionStorage.getItem('cola-key') || '';
  /** @type {string | null} */
  let selected = params.get('job') || null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {Map<string, Series>} per job: the event cursor and what was drawn so far */
  const series = new Map();
  /** @type {Record<string, LineChart>} */
  const charts = {};

  /** @param {number} n */
  function fmtBytes(n) {
    if (!n) return '0 B';
    const u = ['B', 'KB', 'MB', 'GB'];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) {
      n /= 1024;
      i++;
    }
    return n.toFixed(i ? 1 : 0) + ' ' + u[i];
  }

  /** @param {number | null | undefined} v */
  function fmtMetric(v) {
    return typeof v === 'number' ? v.toFixed(4) : '…';
  }

  /** @param {JobEvent} e the event's time in ms: its stream id carries the host's millisecond clock */
  function eventMs(e) {
    const m = /^ftevent-(\d+)-/.exec(e.id);
    return m ? Number(m[1]) : e.created_at * 1000;
  }

  /** @param {number | null} unix seconds until then, as "in 1m 05s" */
  function fmtEta(unix) {
    if (unix === null) return '';
    const s = Math.max(0, Math.round(unix - Date.now() / 1000));
    return 'in ' + (s >= 60 ? Math.floor(s / 60) + 'm ' + String(s % 60).padStart(2, '0') + 's' : s + 's');
  }

  /** @param {Job} j */
  function reasonOf(j) {
    return j.error ? j.error.code + ': ' + j.error.message : '';
  }

  /** @param {JobResult | null} r "accuracy 0.5000 → 0.8125" */
  function fmtResult(r) {
    if (!r) return '';
    const before = typeof r.before === 'number' ? fmtMetric(r.before) + ' → ' : '';
    return r.metric + ' ' + before + fmtMetric(r.value);
  }

  /**
   * @template T
   * @param {string} path
   * @returns {Promise<T>}
   */
  async function api(path) {
    const res = await fetch(path, { headers: { authorization: 'Bearer ' + key } });
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new Error(body && body.error ? body.error.code + ': ' + body.error.message : 'HTTP ' + res.status);
    return body;
  }

  /**
   * @param {string} id canvas id
   * @param {string} title
   * @param {Record<string, unknown>[]} datasets
   * @param {string} yTitle
   * @param {Record<string, unknown>} [extraScales]
   */
  function chart(id, title, datasets, yTitle, extraScales) {
    const scales = { x: { type: 'linear', title: { display: true, text: 'step' } }, y: { title: { display: true, text: yTitle } } };
    const canvas = /** @type {HTMLCanvasElement} */ ($(id));
    charts[id] = /** @type {LineChart} */ (
      new ChartJs(canvas, {
        type: 'line',
        data: { datasets: datasets.map((d) => Object.assign({ data: [], pointRadius: 2, borderWidth: 2, tension: 0.2 }, d)) },
        options: /** @type {import('chart.js').ChartOptions<'line'>} */ ({
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          parsing: false,
          plugins: { title: { display: true, text: title } },
          scales: Object.assign(scales, extraScales || {}),
        }),
      })
    );
  }

  function makeCharts() {
    if (charts['loss-chart']) return;
    chart('loss-chart', 'Training loss', [{ label: 'loss', borderColor: '#0b6bcb' }], 'loss');
    chart('validation-chart', 'Validation', [{ label: 'validation', borderColor: '#1a7f37', pointRadius: 4 }], 'metric');
    chart('throughput-chart', 'Host tokens per second', [{ label: 'tokens/s', borderColor: '#8250df' }], 'tokens/s');
    chart(
      'overhead-chart',
      'Estimated link time (1 Gbit/s)',
      [
        { label: 'est. link time % (1 Gbit/s)', borderColor: '#cf222e', yAxisID: 'y' },
        { label: 'bytes moved (MB)', borderColor: '#9a6700', yAxisID: 'y1' },
      ],
      '%',
      { y1: { position: 'right', title: { display: true, text: 'MB' }, grid: { drawOnChartArea: false } } },
    );
  }

  /**
   * @param {string} id
   * @returns {Series}
   */
  function seriesOf(id) {
    let s = series.get(id);
    if (!s) {
      s = { after: null, points: new Map(), validation: new Map(), events: [] };
      series.set(id, s);
    }
    return s;
  }

  /**
   * A training point: from a metrics event (with the host's timestamp) or from the job's progress at
   * a poll (the latest step), so a running job gains a point per event and per poll.
   * @param {Series} s
   * @param {EventData} d
   * @param {number} t
   */
  function addPoint(s, d, t) {
    const step = d.step;
    if (step === undefined || step <= 0 || s.points.has(step)) return;
    if (d.loss === undefined && d.tokens === undefined) return;
    s.points.set(step, { step, loss: d.loss, tokens: d.tokens, bytes: d.bytes || 0, t });
  }

  /**
   * Reads the job's events after the last one seen.
   * @param {Job} job
   */
  async function pullEvents(job) {
    const s = seriesOf(job.id);
    for (;;) {
      /** @type {ListPage<JobEvent>} */
      const page = await api('/v1/fine_tuning/jobs/' + job.id + '/events?limit=100' + (s.after ? '&after=' + s.after : ''));
      for (const e of page.data) {
        s.after = e.id;
        s.events.push(e);
        const d = e.data;
        if (!d) continue;
        // Validation events carry { step, validation } (step 0 = the starting model).
        if (typeof d.validation === 'number' && typeof d.step === 'number') s.validation.set(d.step, d.validation);
        addPoint(s, d, eventMs(e));
      }
      if (!page.has_more || page.data.length === 0) break;
    }
    const p = job.progress;
    if (p && job.status === 'running') {
      addPoint(s, { step: p.step, loss: p.loss, tokens: p.tokens, bytes: p.bytes_transferred }, Date.now());
    }
    return s;
  }

  /**
   * The validation curve: the job's validation events, plus the result's `before` (step 0) and final
   * value (last step) when no event carried them.
   * @param {Job} job
   * @param {Series} s
   * @returns {XY[]}
   */
  function validationPoints(job, s) {
    const v = new Map(s.validation);
    const r = job.result;
    if (r && typeof r.before === 'number' && !v.has(0)) v.set(0, r.before);
    if (r && typeof r.value === 'number' && job.progress && !v.has(job.progress.step)) v.set(job.progress.step, r.value);
    return Array.from(v.entries())
      .sort((a, b) => a[0] - b[0])
      .map(([x, y]) => ({ x, y }));
  }

  /**
   * @param {Job} job
   * @param {Series} s
   */
  function drawJob(job, s) {
    makeCharts();
    const pts = Array.from(s.points.values()).sort((a, b) => a.step - b.step);
    /** @type {XY[]} */ const loss = [];
    /** @type {XY[]} */ const bytes = [];
    /** @type {XY[]} */ const tput = [];
    /** @type {XY[]} */ const overhead = [];
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
      tput.push({ x: q.step, y: ((q.tokens || 0) - (p.tokens || 0)) / sec });
      overhead.push({ x: q.step, y: (100 * ((q.bytes - p.bytes) / LINK_BYTES_PER_SECOND)) / sec });
    }
    const detail = $('detail');
    detail.hidden = false;
    detail.dataset.jobId = job.id;
    $('detail-title').textContent = job.id + ' · ' + job.task + ' · ' + job.method.aux.type + ' aux · ' + job.status;
    const failure = $('job-error');
    failure.hidden = !job.error;
    failure.textContent = job.error ? 'Failed: ' + reasonOf(job) : '';
    const summary = [];
    if (job.result) summary.push('validation ' + fmtResult(job.result));
    if (job.estimated_finish !== null && job.status === 'running') summary.push('estimated finish ' + fmtEta(job.estimated_finish));
    $('job-summary').textContent = summary.join(' · ');
    const link = /** @type {HTMLAnchorElement} */ ($('events-link'));
    link.textContent = '(' + s.events.length + ' events of ' + job.id + ')';
    charts['loss-chart'].data.datasets[0].data = loss;
    const v = charts['validation-chart'];
    v.data.datasets[0].data = validationPoints(job, s);
    v.data.datasets[0].label = job.result ? job.result.metric : 'validation';
    charts['throughput-chart'].data.datasets[0].data = tput;
    charts['overhead-chart'].data.datasets[0].data = overhead;
    charts['overhead-chart'].data.datasets[1].data = bytes;
    for (const c of Object.values(charts)) c.update('none');
    renderEvents(s);
  }

  /** @param {Series} s the newest events, newest first */
  function renderEvents(s) {
    const body = $('event-rows');
    body.textContent = '';
    for (const e of s.events.slice(-EVENT_ROWS).reverse()) {
      const tr = document.createElement('tr');
      tr.className = 'event level-' + e.level;
      for (const c of [new Date(eventMs(e)).toLocaleTimeString(), e.level, e.message]) {
        const td = document.createElement('td');
        td.textContent = c;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
  }

  /** @param {Job[]} jobs */
  function renderJobs(jobs) {
    const body = $('jobs');
    body.textContent = '';
    if (jobs.length === 0) {
      const tr = document.createElement('tr');
      const td = document.createElement('td');
      td.colSpan = 10;
      td.className = 'note';
      td.textContent = 'No jobs yet for this key.';
      tr.appendChild(td);
      body.appendChild(tr);
      return;
    }
    for (const j of jobs) {
      const tr = document.createElement('tr');
      tr.className = 'job' + (j.id === selected ? ' selected' : '');
      tr.dataset.jobId = j.id;
      tr.dataset.status = j.status;
      const p = j.progress;
      const cells = [
        j.id,
        j.status,
        j.task,
        j.method.aux.type,
        p ? p.step + '/' + p.total_steps : '-',
        p ? p.loss.toFixed(4) : '-',
        fmtBytes(p ? p.bytes_transferred : 0),
        fmtResult(j.result),
        j.status === 'running' ? fmtEta(j.estimated_finish) : '',
        reasonOf(j),
      ];
      cells.forEach((c, i) => {
        const td = document.createElement('td');
        td.textContent = c;
        if (i === 1) td.className = 'status-' + j.status;
        if (i === 9) td.className = 'reason';
        tr.appendChild(td);
      });
      tr.addEventListener('click', () => {
        selected = j.id;
        refresh();
      });
      body.appendChild(tr);
    }
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      /** @type {ListPage<Job>} */
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
      $('live').textContent = (live ? 'live · updated ' : 'updated ') + new Date().toLocaleTimeString();
    } catch (e) {
      $('error').textContent = e instanceof Error ? e.message : String(e);
    }
    timer = setTimeout(refresh, POLL_MS);
  }

  keyInput.value = key;
  $('connect').addEventListener('click', () => {
    key = keyInput.value.trim();
    sessionStorage.setItem('cola-key', key);
    series.clear();
    selected = null;
    refresh();
  });
  if (key) refresh();
})();
