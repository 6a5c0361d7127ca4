#include "page.h"

namespace gpux::market_data {

namespace {

// Element ids the page's test reads: #instruments, #symbol, #bids, #offers,
// #last-trade, #trades, #price-chart (data-points), #index-chart
// (data-points), #status.
constexpr std::string_view kPage = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gpux market</title>
<link rel="icon" href="data:,">
<style>
  body { font-family: "DejaVu Sans", sans-serif; margin: 0; color: #1b1f24; background: #f6f7f9; }
  header { display: flex; justify-content: space-between; align-items: baseline;
           padding: 10px 18px; background: #1b1f24; color: #fff; }
  header h1 { font-size: 18px; margin: 0; }
  #status { font-size: 13px; }
  main { display: grid; grid-template-columns: minmax(260px, 1fr) 2fr; gap: 14px; padding: 14px; }
  section { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 10px 12px; }
  h2 { font-size: 14px; margin: 0 0 8px 0; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { text-align: right; padding: 2px 6px; white-space: nowrap; }
  th:first-child, td:first-child { text-align: left; }
  #instruments tr { cursor: pointer; }
  #instruments tr.selected { background: #e7f0ff; }
  .bid { color: #0a7a3d; } .offer { color: #b3261e; }
  .books { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
  #last-trade { font-size: 22px; font-weight: bold; margin: 4px 0 8px 0; }
  .charts { display: grid; grid-template-columns: 1fr; gap: 14px; }
  canvas { width: 100%; height: 220px; }
  .note { color: #5f6b7a; font-size: 12px; }
</style>
<script src="/chart.js"></script>
</head>
<body>
<header><h1>gpux market</h1><span id="status">connecting</span></header>
<main>
  <div>
    <section>
      <h2>Instruments</h2>
      <table><thead><tr><th>symbol</th><th>state</th><th>bid</th><th>offer</th><th>last</th></tr></thead>
      <tbody id="instruments"></tbody></table>
    </section>
    <section style="margin-top:14px">
      <h2>GPU-hour index</h2>
      <canvas id="index-chart" data-points="0"></canvas>
      <p class="note" id="index-note"></p>
    </section>
  </div>
  <div>
    <section>
      <h2 id="symbol">no instrument selected</h2>
      <div id="last-trade">&ndash;</div>
      <div class="books">
        <table><thead><tr><th>bid qty</th><th>bid</th></tr></thead><tbody id="bids"></tbody></table>
        <table><thead><tr><th>offer</th><th>offer qty</th></tr></thead><tbody id="offers"></tbody></table>
      </div>
    </section>
    <div class="charts" style="margin-top:14px">
      <section><h2>Trades (price per unit, USD)</h2><canvas id="price-chart" data-points="0"></canvas></section>
      <section><h2>Last trades</h2>
        <table><thead><tr><th>time (UTC)</th><th>price</th><th>qty</th><th>aggressor</th></tr></thead>
        <tbody id="trades"></tbody></table></section>
    </div>
  </div>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const instruments = new Map();  // symbol -> {info, bid, offer, last}
let selected = null;
let trades = [];  // of the selected instrument, newest first

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
}
function money(s) { return s === undefined || s === null ? "" : s.replace(/(\.\d\d)\d*?0*$/, "$1"); }
function clock(ms) { return new Date(ms).toISOString().substring(11, 19); }
async function get(path) {
  const r = await fetch(path);
  if (!r.ok) throw new Error(path + ": " + r.status);
  return r.json();
}

function lineChart(canvas, label) {
  return new Chart(canvas, {
    type: "line",
    data: { datasets: [] },
    options: {
      animation: false, parsing: false, normalized: true,
      scales: { x: { type: "linear", ticks: { callback: (v) => clock(v) } } },
      plugins: { legend: { display: label } }
    }
  });
}
const priceChart = lineChart($("price-chart"), false);
const indexChart = lineChart($("index-chart"), true);

function drawInstruments() {
  const body = $("instruments");
  body.replaceChildren();
  for (const [symbol, i] of instruments) {
    const row = body.insertRow();
    if (symbol === selected) row.className = "selected";
    row.onclick = () => select(symbol);
    cell(row, symbol);
    cell(row, i.info.halted ? "halted" : i.info.state);
    cell(row, money(i.bid), "bid");
    cell(row, money(i.offer), "offer");
    cell(row, money(i.last));
  }
}

function drawBook(book) {
  const i = instruments.get(book.symbol);
  if (i) {
    i.bid = book.bids.length ? book.bids[0].price : undefined;
    i.offer = book.offers.length ? book.offers[0].price : undefined;
  }
  if (book.symbol !== selected) return;
  for (const [id, levels, cls] of [["bids", book.bids, "bid"], ["offers", book.offers, "offer"]]) {
    const body = $(id);
    body.replaceChildren();
    for (const l of levels) {
      const row = body.insertRow();
      if (cls === "bid") { cell(row, l.quantity); cell(row, money(l.price), cls); }
      else { cell(row, money(l.price), cls); cell(row, l.quantity); }
    }
  }
}

function drawTrades() {
  const body = $("trades");
  body.replaceChildren();
  for (const t of trades.slice(0, 30)) {
    const row = body.insertRow();
    cell(row, clock(t.time_ms));
    cell(row, money(t.price), t.aggressor === "buy" ? "bid" : "offer");
    cell(row, t.quantity);
    cell(row, t.aggressor + (t.block_leg ? " (block)" : ""));
  }
  $("last-trade").textContent = trades.length ? "$" + money(trades[0].price) : "\u2013";
  const points = trades.slice().reverse().map((t) => ({ x: t.time_ms, y: Number(t.price) }));
  priceChart.data.datasets = [{ label: selected, data: points, borderColor: "#2563eb",
                                pointRadius: 2, stepped: true }];
  priceChart.update();
  $("price-chart").dataset.points = points.length;
}

const palette = ["#2563eb", "#b3261e", "#0a7a3d", "#7c3aed", "#c2410c", "#0e7490"];
async function loadIndex() {
  const index = await get("/api/v1/index?limit=200");
  let count = 0;
  indexChart.data.datasets = index.products.map((p, k) => {
    const data = p.fixings.filter((f) => f.value !== null)
                          .map((f) => ({ x: f.at_ms, y: Number(f.value) }));
    count += data.length;
    return { label: p.product, data, borderColor: palette[k % palette.length], pointRadius: 2 };
  });
  indexChart.update();
  $("index-chart").dataset.points = count;
  $("index-note").textContent = "USD per GPU-hour, fixed every " + index.interval_s +
    " s from at least " + index.min_volume_gpu_hours + " GPU-hours traded (docs/index.md)";
}

async function select(symbol) {
  selected = symbol;
  $("symbol").textContent = symbol;
  const [book, tape] = await Promise.all([
    get("/api/v1/book?symbol=" + encodeURIComponent(symbol)),
    get("/api/v1/trades?symbol=" + encodeURIComponent(symbol) + "&limit=200")]);
  trades = tape.trades;
  drawBook(book);
  drawTrades();
  drawInstruments();
}

function onUpdate(u) {
  for (const info of u.instruments) {
    const i = instruments.get(info.symbol);
    if (i) i.info = info; else instruments.set(info.symbol, { info });
  }
  for (const book of u.books) drawBook(book);
  let mine = false;
  for (const t of u.trades) {
    const i = instruments.get(t.symbol);
    if (i) i.last = t.price;
    // An update held while the page loaded may repeat a trade it loaded.
    if (t.symbol === selected && !trades.some((seen) => seen.trade === t.trade)) {
      trades.unshift(t);
      mine = true;
    }
  }
  if (trades.length > 200) trades.length = 200;
  if (mine) drawTrades();
  drawInstruments();
  if (u.fixings.length) addFixings(u.fixings);
  $("status").textContent = "live, sequence " + u.sequence;
}

// Fixings the stream brings, added to the index chart: every page asking
// for the whole index at each fixing would all ask at the same instant.
function addFixings(fixings) {
  let count = Number($("index-chart").dataset.points);
  for (const f of fixings) {
    if (f.value === null) continue;
    let set = indexChart.data.datasets.find((d) => d.label === f.product);
    if (!set) {
      set = { label: f.product, data: [], pointRadius: 2,
              borderColor: palette[indexChart.data.datasets.length % palette.length] };
      indexChart.data.datasets.push(set);
    }
    set.data.push({ x: f.at_ms, y: Number(f.value) });
    if (set.data.length > 200) set.data.shift(); else count++;
  }
  indexChart.update();
  $("index-chart").dataset.points = count;
}

// Updates that arrive while the page loads its snapshot wait for it, then
// apply over it: nothing between the two is missed.
let held = [];

function connect() {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host +
                           "/api/v1/stream");
  ws.onopen = () => { $("status").textContent = "live"; };
  ws.onmessage = (m) => {
    const u = JSON.parse(m.data);
    if (held) held.push(u); else onUpdate(u);
  };
  ws.onclose = () => {
    $("status").textContent = "disconnected; reconnecting";
    setTimeout(() => start().catch(() => {}), 2000);
  };
}

async function start() {
  held = [];
  connect();  // first: what changes while the snapshot loads is held
  const list = await get("/api/v1/instruments");
  instruments.clear();
  for (const info of list.instruments) instruments.set(info.symbol, { info });
  const wanted = new URLSearchParams(location.search).get("symbol");
  const open = list.instruments.filter((i) => i.state === "open");
  const first = wanted || (open.length ? open[0].symbol
                                       : (list.instruments.length ? list.instruments[0].symbol : null));
  if (first) await select(first); else drawInstruments();
  await loadIndex();
  const waiting = held;
  held = null;
  for (const u of waiting) onUpdate(u);
}
start().catch((e) => { $("status").textContent = "cannot load: " + e.message; });
</script>
</body>
</html>
)html";

}  // namespace

std::string_view market_page() {
  return kPage;
}

}  // namespace gpux::market_data
