// Fetches the dashboard's JSON endpoints and draws them with Plotly.js. Each chart's element gets
// data-points (how many points it drew) once drawn, so a browser test can check what rendered.
const DAY_MS = 86400000;
const $ = (id) => document.getElementById(id);

async function getJson(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  if (!response.ok) {
    const error = new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

function drawn(id, points) {
  $(id).dataset.points = String(points);
}

function emptyNote(id, text) {
  Plotly.purge(id);
  $(id).textContent = text;
  drawn(id, 0);
}

// A chart drawn where a note (or an earlier chart) was: the note goes, not only behind the new chart.
function plot(id, traces, layout) {
  Plotly.purge(id);
  $(id).textContent = "";
  return Plotly.newPlot(id, traces, layout, { responsive: true });
}

async function drawCandles() {
  const [symbol, interval] = $("series").value.split("|");
  const query = new URLSearchParams({ symbol, interval, start: $("start").value, end: $("end").value });
  const { candles, resolution, truncated } = await getJson(`api/candles?${query}`);
  $("candles").dataset.resolution = resolution;
  if (!candles.length) return emptyNote("candles", "No candles in this range.");
  const x = candles.map((c) => new Date(c.open_time_ms));
  const price = {
    type: "candlestick", name: symbol, x, xaxis: "x", yaxis: "y",
    open: candles.map((c) => c.open), high: candles.map((c) => c.high),
    low: candles.map((c) => c.low), close: candles.map((c) => c.close),
  };
  const volume = { type: "bar", name: "volume", x, y: candles.map((c) => c.volume), xaxis: "x", yaxis: "y2",
                   marker: { color: "#a0aec0" } };
  const merged = resolution === interval ? "" : ` shown as ${resolution} candles (the whole range)`;
  const title = `${symbol} ${interval}${merged}` + (truncated ? " (the newest 5000 days of the range)" : "");
  await plot("candles", [price, volume], {
    title: { text: title }, showlegend: false, margin: { t: 40, r: 20, b: 30, l: 60 },
    xaxis: { rangeslider: { visible: false } },
    yaxis: { domain: [0.3, 1], title: { text: "price" } }, yaxis2: { domain: [0, 0.25], title: { text: "volume" } },
  });
  drawn("candles", candles.length);
}

const compact = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 2 });
const whole = new Intl.NumberFormat("en");
const price = new Intl.NumberFormat("en", { maximumSignificantDigits: 8 });
const percent = (value) => (value === null ? "–" : `${value >= 0 ? "+" : ""}${value.toFixed(2)} %`);

function card(value, label) {
  return `<div class="card"><strong>${value}</strong><span>${label}</span></div>`;
}

async function drawCards() {
  const [symbol, interval] = $("series").value.split("|");
  const chosen = [...$("card-symbols").selectedOptions].map((o) => o.value);
  const query = new URLSearchParams({ interval, start: $("start").value, end: $("end").value });
  for (const s of chosen.length ? chosen : [symbol]) query.append("symbols", s);
  const { per_symbol: rows, total, changes } = await getJson(`api/summary?${query}`);
  const change = Object.fromEntries(changes.map((c) => [c.symbol, c]));
  let html = card(compact.format(total.volume), "Total volume") + card(compact.format(total.trades), "Total trades");
  if (rows.length === 1) {
    const [row] = rows;
    const moved = change[row.symbol] || { pct_change_30d: null, pct_change_365d: null };
    html += card(price.format(row.average_price), "Average price") + card(price.format(row.final_close),
      `Close price (final, ${row.final_date})`) + card(price.format(row.high), "High") + card(price.format(row.low),
      "Low") + card(percent(moved.pct_change_30d), "% change 30 d") + card(percent(moved.pct_change_365d),
      "% change 365 d");
  } else {
    html += "<table><tr><th>symbol</th><th>average</th><th>high</th><th>low</th><th>final close</th><th>30 d</th>" +
      "<th>365 d</th></tr>" + rows.map((r) => {
      const moved = change[r.symbol] || { pct_change_30d: null, pct_change_365d: null };
      return `<tr><td>${r.symbol}</td><td>${price.format(r.average_price)}</td><td>${price.format(r.high)}</td>` +
        `<td>${price.format(r.low)}</td><td>${price.format(r.final_close)}</td>` +
        `<td>${percent(moved.pct_change_30d)}</td><td>${percent(moved.pct_change_365d)}</td></tr>`;
    }).join("") + "</table>";
  }
  $("cards").innerHTML = rows.length ? html : "";
  $("cards").dataset.symbols = rows.map((r) => r.symbol).join(",");
  $("cards").dataset.range = `${interval} ${$("start").value} ${$("end").value}`;
  $("cards").dataset.volume = String(total.volume);
}

async function drawTopWorst() {
  const [, interval] = $("series").value.split("|");
  const rows = await getJson(`api/top_worst?${new URLSearchParams({ interval, limit: 5 })}`);
  for (const horizon of [30, 365]) {
    const id = `top-worst-${horizon}`;
    const own = rows.filter((r) => r.horizon_days === horizon).sort((a, b) => b.pct_change - a.pct_change);
    if (!own.length) {
      emptyNote(id, `No current ${interval} series reaches back ${horizon} days yet.`);
      continue;
    }
    await plot(id, [{
      type: "bar", orientation: "h", x: own.map((r) => r.pct_change), y: own.map((r) => r.symbol),
      marker: { color: own.map((r) => (r.pct_change >= 0 ? "#2f855a" : "#c53030")) },
    }], { margin: { t: 10, r: 20, b: 40, l: 90 }, xaxis: { title: { text: `${horizon}-day change % (${interval})` } },
          yaxis: { autorange: "reversed" } });
    $(id).dataset.top = own[0].symbol;
    $(id).dataset.worst = own[own.length - 1].symbol;
    drawn(id, own.length);
  }
}

async function drawMovers() {
  const movers = await getJson("api/movers");
  if (!movers.length) return emptyNote("movers", "No 24hr ticker loaded yet.");
  await plot("movers", [{
    type: "bar", orientation: "h", x: movers.map((m) => m.price_change_percent), y: movers.map((m) => m.symbol),
    marker: { color: movers.map((m) => (m.price_change_percent >= 0 ? "#2f855a" : "#c53030")) },
  }], { margin: { t: 10, r: 20, b: 40, l: 90 }, xaxis: { title: { text: "24h change %" } },
        yaxis: { autorange: "reversed" } });
  drawn("movers", movers.length);
}

async function drawPortfolio() {
  let snapshots;
  try {
    snapshots = await getJson("api/portfolio");
  } catch (err) {
    if (err.status === 403) return emptyNote("portfolio", "Balances are hidden: your role may not read the account.");
    throw err;
  }
  if (!snapshots.length) return emptyNote("portfolio", "No balances loaded yet (needs an API key).");
  const accounts = [...new Set(snapshots.map((s) => s.account))];
  await plot("portfolio", accounts.map((account) => {
    const own = snapshots.filter((s) => s.account === account);
    return { type: "scatter", mode: "lines+markers", name: account,
             x: own.map((s) => s.snapshot_time), y: own.map((s) => s.value_usdt) };
  }), { margin: { t: 10, r: 20, b: 40, l: 90 }, yaxis: { title: { text: "USDT" } }, showlegend: accounts.length > 1 });
  $("portfolio").dataset.accounts = accounts.join(",");
  drawn("portfolio", snapshots.length);
}

async function drawForecast() {
  const [symbol] = $("series").value.split("|");
  const rows = await getJson(`api/forecast?${new URLSearchParams({ symbol })}`);
  if (!rows.length) return emptyNote("forecast", `No forecast for ${symbol} yet (needs a week of 1h candles).`);
  const x = rows.map((r) => r.target_time);
  const band = (lo, hi, name, color) => [
    { x, y: rows.map((r) => r[hi]), mode: "lines", line: { width: 0 }, showlegend: false, hoverinfo: "skip" },
    { x, y: rows.map((r) => r[lo]), mode: "lines", line: { width: 0 }, fill: "tonexty", fillcolor: color, name },
  ];
  await plot("forecast", [
    ...band("lo_95", "hi_95", "95 %", "rgba(49,130,206,0.15)"),
    ...band("lo_80", "hi_80", "80 %", "rgba(49,130,206,0.3)"),
    { x, y: rows.map((r) => r.yhat), mode: "lines", name: `${rows[0].model} forecast`, line: { color: "#2b6cb0" } },
  ], { title: { text: `${symbol} from ${rows[0].made_at}` }, margin: { t: 40, r: 20, b: 40, l: 70 } });
  drawn("forecast", rows.length);
}

async function show(event) {
  if (event) event.preventDefault();
  $("status").textContent = "";
  const results = await Promise.allSettled([
    drawCandles(), drawCards(), drawTopWorst(), drawForecast(), drawMovers(), drawPortfolio(),
  ]);
  const errors = results.filter((r) => r.status === "rejected").map((r) => r.reason.message);
  $("status").textContent = errors.join("; ");
}

function drawCoverage(series) {
  const count = (n) => whole.format(n);
  const moment = (t) => t.replace("T", " ").slice(0, 16);
  $("coverage").innerHTML = "<table><tr><th>series</th><th>first candle</th><th>last candle</th><th>held</th>" +
    "<th>expected</th><th>confirmed outages</th><th>unexplained</th></tr>" + series.map((s) =>
    `<tr><td>${s.symbol} ${s.interval}</td><td>${moment(s.first_open)}</td><td>${moment(s.last_open)}</td><td>${count(s.candles)}</td>` +
    `<td>${count(s.candles_expected)}</td><td>${count(s.confirmed_outages)}</td>` +
    `<td class="${s.unexplained ? "bad" : ""}">${count(s.unexplained)}</td></tr>`).join("") + "</table>";
  $("coverage").dataset.series = String(series.length);
  $("coverage").dataset.unexplained = String(series.reduce((sum, s) => sum + s.unexplained, 0));
}

async function init() {
  const series = await getJson("api/series");
  drawCoverage(series);
  for (const s of series) {
    const option = new Option(`${s.symbol} ${s.interval}`, `${s.symbol}|${s.interval}`);
    option.dataset.last = s.last_open;
    $("series").add(option);
  }
  $("series").addEventListener("change", defaultRange);
  for (const symbol of [...new Set(series.map((s) => s.symbol))]) $("card-symbols").add(new Option(symbol, symbol));
  $("controls").addEventListener("submit", show);
  if (!series.length) return emptyNote("candles", "No candles loaded yet: run binance_etl first.");
  defaultRange();
  await show();
}

function defaultRange() {
  const last = Date.parse($("series").selectedOptions[0].dataset.last + "Z");
  $("end").value = new Date(last + DAY_MS).toISOString().slice(0, 10);
  $("start").value = new Date(last - 6 * DAY_MS).toISOString().slice(0, 10);
}

init().catch((err) => { $("status").textContent = err.message; });
