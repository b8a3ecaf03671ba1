// The operator dashboard's script: polls the gateway's JSON endpoints (relative to the page, so
// under any proxy prefix) every few seconds and renders them; keeps the charts' history in the page.
// Plain browser JavaScript, no build step; data reaches the DOM only as text (never as HTML).
'use strict'

;(() => {
  const TOKEN_KEY = 'tessera-operator-token'
  /** Points kept per chart series (at the default 2 s refresh: 10 minutes). */
  const HISTORY = 300
  const params = new URLSearchParams(location.search)
  const refreshMs = Math.max(200, Number(params.get('refresh') ?? 2) * 1000 || 2000)
  const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#475569', '#ea580c']

  const $ = (id) => document.getElementById(id)
  let token = sessionStorage.getItem(TOKEN_KEY)
  let timer
  let refreshes = 0
  /** Chart history: sample times (s) and, per backend id, its values (null before it was seen). */
  const history = { times: [], risk: new Map(), latency: new Map() }
  const charts = { risk: undefined, latency: undefined }

  class Unauthorized extends Error {}

  async function api(path) {
    const res = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {}, cache: 'no-store' })
    if (res.status === 401) throw new Unauthorized(path)
    // /health answers 503 with the same JSON when the gateway cannot take uploads.
    if (!res.ok && res.status !== 503) throw new Error(`${path}: HTTP ${res.status}`)
    return res.json()
  }

  async function refresh() {
    try {
      const [health, durability, uploads, reconciliation] = await Promise.all([api('health'), api('durability'), api('uploads'), api('reconciliation')])
      $('login').hidden = true
      $('main').hidden = false
      $('logout').hidden = !token
      render(health, durability, uploads, reconciliation)
      refreshes += 1
      document.body.dataset.refreshes = String(refreshes)
      $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`
    } catch (err) {
      if (err instanceof Unauthorized) return askForToken(token ? 'The gateway refused this token.' : '')
      $('updated').textContent = `update failed: ${err.message}`
    }
    timer = setTimeout(refresh, refreshMs)
  }

  function askForToken(message) {
    clearTimeout(timer)
    $('main').hidden = true
    $('logout').hidden = true
    $('login').hidden = false
    $('login-error').textContent = message
    $('status').textContent = 'token needed'
    $('status').dataset.status = 'locked'
    $('token').focus()
  }

  $('login').addEventListener('submit', (event) => {
    event.preventDefault()
    token = $('token').value.trim()
    sessionStorage.setItem(TOKEN_KEY, token)
    $('token').value = ''
    void refresh()
  })
  $('logout').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY)
    token = null
    askForToken('')
  })

  function render(health, durability, uploads, reconciliation) {
    $('status').textContent = health.status
    $('status').dataset.status = health.status
    $('summary').textContent = `${health.backends.up}/${health.backends.total} backends up (${health.backends.writeQuorum} needed) · policy ${health.policy} · ${durability.objects} objects · queue ${health.queue.waiting} waiting, ${health.queue.running} running`
    renderBackends(health, durability)
    renderCharts(durability)
    renderUploads(uploads)
    renderReconciliation(reconciliation)
    rows('priority', durability.priority.slice(0, 10), (p) => [short(p.objectId), p.probability.toExponential(2), String(p.parityBlocks)])
    const q = durability.queue
    $('queue').textContent = `${q.waiting} waiting, ${q.running} running${q.paused ? ', paused' : ''} · ${totalsText(durability.totals)}`
    rows('actions', durability.recent.slice(-15).reverse(), (e) => [time(e.atMs), e.action, e.outcome, e.reason, short(e.backend ?? ''), short(e.objectId ?? ''), e.code ?? ''], (tr, e) => {
      tr.dataset.outcome = e.outcome
    })
  }

  function renderBackends(health, durability) {
    rows('backends', durability.backends, (b) => {
      const probe = b.lastProbe ? (b.lastProbe.ok ? `ok ${ago(b.lastProbe.tMs)}` : `${b.lastProbe.code ?? 'failed'} ${ago(b.lastProbe.tMs)}`) : '–'
      return [b.backend, stateOf(health, b.backend), b.risk.probability.toFixed(3), b.latest ? `${b.latest.latencyMs.toFixed(1)} ms` : '–', b.latest ? `${(b.latest.errorRate * 100).toFixed(0)}%` : '–', probe, b.capacity?.freeBytes == null ? '–' : bytes(b.capacity.freeBytes), String(b.blocks)]
    }, (tr, b) => {
      tr.dataset.backend = b.backend
      tr.dataset.state = stateOf(health, b.backend)
    })
  }

  function stateOf(health, id) {
    if (health.backends.down.includes(id)) return 'down'
    if (health.backends.atRisk.includes(id)) return 'at risk'
    return 'ok'
  }

  function renderCharts(durability) {
    history.times.push(durability.atMs / 1000)
    for (const [series, value] of [[history.risk, (b) => b.risk.probability], [history.latency, (b) => b.latest?.latencyMs ?? null]]) {
      for (const b of durability.backends) {
        if (!series.has(b.backend)) series.set(b.backend, new Array(history.times.length - 1).fill(null))
      }
      for (const [id, values] of series) {
        const b = durability.backends.find((x) => x.backend === id)
        values.push(b ? value(b) : null)
      }
    }
    if (history.times.length > HISTORY) {
      history.times.shift()
      for (const series of [history.risk, history.latency]) for (const values of series.values()) values.shift()
    }
    charts.risk = drawChart(charts.risk, 'risk-chart', history.risk, { min: 0, max: 1 })
    charts.latency = drawChart(charts.latency, 'latency-chart', history.latency, {})
  }

  /** Draws `series` (backend → values) over `history.times`; a new backend rebuilds the chart, otherwise only the data changes. */
  function drawChart(chart, elementId, series, range) {
    const data = [history.times, ...series.values()]
    if (chart && chart.series.length === series.size + 1) {
      chart.setData(data)
      return chart
    }
    chart?.destroy()
    const el = $(elementId)
    const opts = {
      width: Math.max(300, el.clientWidth || 480),
      height: 200,
      scales: { x: { time: true }, y: range.max === undefined ? {} : { range: [range.min, range.max] } },
      series: [{}, ...[...series.keys()].map((id, i) => ({ label: short(id), stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true }))],
      axes: [{}, { size: 50 }],
      legend: { live: false },
    }
    return new window.uPlot(opts, data, el)
  }

  function renderUploads(list) {
    $('uploads-empty').hidden = list.uploads.length > 0
    rows('uploads', list.uploads, (u) => [short(u.id), u.partition ? `${u.partition.id} #${u.partition.attempt}` : '', '', u.receiving ? 'receiving now' : u.lastWriteAt ? ago(Date.parse(u.lastWriteAt)) : '–'], (tr, u) => {
      tr.dataset.upload = u.id
      tr.dataset.offset = String(u.offset)
      tr.title = u.id
      const cell = tr.children[2]
      const bar = document.createElement('progress')
      if (u.length !== null) {
        bar.max = u.length
        bar.value = u.offset
      }
      cell.append(bar, ` ${bytes(u.offset)} / ${u.length === null ? '?' : bytes(u.length)}`)
    })
  }

  function renderReconciliation(tail) {
    $('reconciliation-counts').textContent = Object.entries(tail.counts).map(([k, n]) => `${k} ${n}`).join(' · ') || 'no events yet'
    rows('reconciliation', tail.recent.slice(-15).reverse(), (e) => [time(Date.parse(e.time)), e.event, short(e.uploadId), e.partition ?? '', bytes(e.bytes), e.reason ?? (e.winner ? `winner ${short(e.winner)}` : '')], (tr, e) => {
      tr.dataset.event = e.event
      tr.dataset.upload = e.uploadId
    })
  }

  /** Replaces the body of table `id` with one row per item: `cells` gives the texts, `decorate` may add attributes. */
  function rows(id, items, cells, decorate) {
    const body = $(id).tBodies[0]
    body.replaceChildren(...items.map((item) => {
      const tr = document.createElement('tr')
      for (const text of cells(item)) {
        const td = document.createElement('td')
        td.textContent = text
        tr.append(td)
      }
      decorate?.(tr, item)
      return tr
    }))
  }

  function totalsText(totals) {
    return Object.entries(totals).map(([action, outcomes]) => `${action}: ${Object.entries(outcomes).map(([o, n]) => `${n} ${o}`).join(', ')}`).join(' · ') || 'no actions yet'
  }

  const short = (id) => (id.length > 16 ? `${id.slice(0, 12)}…` : id)
  const time = (ms) => new Date(ms).toLocaleTimeString()
  const ago = (ms) => `${Math.max(0, Math.round((Date.now() - ms) / 1000))} s ago`
  function bytes(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
    let i = 0
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024
      i += 1
    }
    return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`
  }

  void refresh()
})()
