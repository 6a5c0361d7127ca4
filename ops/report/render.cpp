// CSV files and the HTML page. The page carries its own style, the charting
// library and the charts' data, so it renders without network access, and
// the same report gives the same bytes.
#include <algorithm>
#include <fstream>
#include <stdexcept>

#include "gpux/market_data/chart_library.h"
#include "report/journal_replay.h"
#include "report/page.h"
#include "report/report.h"
#include "support/json_text.h"

namespace gpux::report {

namespace {

using page::cents;
using page::csv_line;
using page::escape;
using page::html_table;
using page::kStyle;
using page::summary_table;
using page::write_file;

// Charts are Chart.js configurations: JSON data beside a canvas, drawn by
// one script after the library. The JSON is built here from integers, so the
// same report gives the same bytes; amounts go to the chart in USD with six
// places, for display only.

template <class T, class Format>
std::string json_array(const std::vector<T>& values, Format format) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += format(values[i]);
  }
  return out + "]";
}

std::string axis_title(const std::string& text) {
  return "\"title\":{\"display\":true,\"text\":" + json::quoted(text) + "}";
}

std::string chart_title(const std::string& text) {
  return "\"plugins\":{\"title\":{\"display\":true,\"text\":" + json::quoted(text) +
         ",\"font\":{\"size\":14}},\"legend\":{\"position\":\"bottom\"}}";
}

// A canvas of `width` x `height` CSS pixels and its configuration.
class ChartSet {
 public:
  std::string add(const std::string& config, int width, int height) {
    const std::string id = "chart-" + std::to_string(++count_);
    return "<div class=\"chart\"><canvas data-chart=\"" + id + "\" width=\"" +
           std::to_string(width) + "\" height=\"" + std::to_string(height) +
           "\"></canvas><script type=\"application/json\" id=\"" + id + "\">" + config +
           "</script></div>\n";
  }
  bool empty() const { return count_ == 0; }

 private:
  int count_ = 0;
};

// Draws every canvas from its JSON; still charts, at their CSS size, so that a
// screenshot or a print shows them whole.
const char* const kDrawCharts =
    "<script>Chart.defaults.animation=false;Chart.defaults.responsive=false;"
    "Chart.defaults.font.family='sans-serif';Chart.defaults.color='#1d2733';"
    "for(const c of document.querySelectorAll('canvas[data-chart]'))"
    "new Chart(c,JSON.parse(document.getElementById(c.dataset.chart).textContent));</script>\n";

std::string hour_label(std::size_t hour) {
  char text[8];
  std::snprintf(text, sizeof text, "%02zu:00", hour);
  return text;
}

// The smallest 1, 2, 2.5 or 5 times a power of ten at or above `value`
// (micro-USD): the top of a price axis people can read.
matching::Price nice_ceiling(matching::Price value) {
  for (matching::Price decade = 1;; decade *= 10)
    for (const matching::Price step : {decade, 2 * decade, 5 * decade / 2, 5 * decade})
      if (step >= value) return step;
}

// Bars of volume per hour and the VWAP as a line over them, for one product,
// against a price axis from zero: a VWAP's height is its price. The hour
// axis spans the hours traded and one on each side, not the whole day.
std::string hourly_chart(ChartSet& charts, const ProductHours& p) {
  std::size_t first = 24, last = 0;
  matching::Price high = 0;
  for (std::size_t h = 0; h < 24; ++h) {
    if (p.volume[h] == 0) continue;
    first = std::min(first, h);
    last = std::max(last, h);
    high = std::max(high, p.vwap[h]);
  }
  if (first == 24) return "";
  first = first == 0 ? 0 : first - 1;
  last = std::min<std::size_t>(23, last + 1);
  std::vector<std::size_t> hours;
  for (std::size_t h = first; h <= last; ++h)
    hours.push_back(h);
  const auto volume = [&](std::size_t h) { return std::to_string(p.volume[h]); };
  const auto vwap = [&](std::size_t h) {
    return p.volume[h] == 0 ? std::string("null") : ops::usd(p.vwap[h]);
  };
  const std::string config =
      "{\"type\":\"bar\",\"data\":{\"labels\":" +
      json_array(hours, [](std::size_t h) { return json::quoted(hour_label(h)); }) +
      ",\"datasets\":[{\"type\":\"line\",\"label\":\"VWAP (USD per GPU-hour)\",\"data\":" +
      json_array(hours, vwap) +
      ",\"yAxisID\":\"price\",\"borderColor\":\"#e07b00\",\"backgroundColor\":\"#e07b00\","
      "\"borderWidth\":3,\"pointRadius\":5,\"spanGaps\":true,\"order\":0},"
      "{\"label\":\"Volume (GPU-hour units)\",\"data\":" +
      json_array(hours, volume) +
      ",\"yAxisID\":\"volume\",\"backgroundColor\":\"#3b82c4\",\"maxBarThickness\":48,"
      "\"order\":1}]},"
      "\"options\":{" +
      chart_title(p.product + ": volume and VWAP by hour of trading") + ",\"scales\":{\"x\":{" +
      axis_title("hour of trading (UTC)") +
      "},\"volume\":{\"type\":\"linear\",\"position\":\"left\",\"beginAtZero\":true,"
      "\"ticks\":{\"precision\":0}," +
      axis_title("volume (units)") +
      "},\"price\":{\"type\":\"linear\",\"position\":\"right\",\"min\":0,\"max\":" +
      ops::usd(nice_ceiling(std::max<matching::Price>(high + high / 10, 1))) +
      ",\"grid\":{\"drawOnChartArea\":false}," + axis_title("VWAP (USD)") + "}}}}";
  return charts.add(config, 760, 300);
}

// Horizontal bars, one row per label, with the value axis from 0 to `max`
// (bars past it are cut at the edge; their labels say so).
struct BarSeries {
  std::string label;
  std::string colour;
  std::vector<std::string> values;  // JSON numbers
};

std::string bar_chart(ChartSet& charts, const std::string& title,
                      const std::vector<std::string>& labels, const std::vector<BarSeries>& series,
                      const std::string& axis, const std::string& max) {
  std::string datasets;
  for (const BarSeries& b : series)
    datasets += std::string(datasets.empty() ? "{" : ",{") + "\"label\":" + json::quoted(b.label) +
                ",\"backgroundColor\":" + json::quoted(b.colour) +
                ",\"data\":" + json_array(b.values, [](const std::string& v) { return v; }) + "}";
  const std::string config =
      "{\"type\":\"bar\",\"data\":{\"labels\":" + json_array(labels, json::quoted) +
      ",\"datasets\":[" + datasets + "]},\"options\":{\"indexAxis\":\"y\"," + chart_title(title) +
      ",\"scales\":{\"x\":{\"min\":0,\"max\":" + max + "," + axis_title(axis) + "}}}}";
  const int rows = static_cast<int>(labels.size() * std::max<std::size_t>(1, series.size()));
  return charts.add(config, 760, 110 + 22 * rows);
}

std::string pass_rate_chart(ChartSet& charts, const std::vector<PassRate>& rates) {
  std::vector<std::string> labels;
  BarSeries passed{"challenges passed (%)", "#2e9e5b", {}};
  for (const PassRate& r : rates) {
    // Groups exist only for challenges recorded: `recorded` is never 0.
    labels.push_back(r.label + ": " + percent(r.passed, r.recorded) + "% (" +
                     std::to_string(r.passed) + " of " + std::to_string(r.recorded) + ")");
    passed.values.push_back(percent(r.passed, r.recorded));
  }
  return bar_chart(charts, "Verification pass rate", labels, {passed}, "challenges passed (%)",
                   "100");
}

std::string cash_flow_chart(ChartSet& charts, const std::vector<CashFlow>& flows, bool has_out) {
  // Funding (deposits, withdrawals, collateral) and holds (cash reserved for
  // open buys and released) dwarf what trades and settlement move: beside
  // them a penalty is no bar at all. The scale is set by the others; these
  // run off it, saying so.
  const auto off_scale = [](const CashFlow& f) {
    return f.reason == "deposit" || f.reason == "withdrawal" || f.reason == "collateral" ||
           f.reason == "reserve" || f.reason == "release";
  };
  Money largest = 0, largest_trading = 0;
  for (const CashFlow& f : flows) {
    largest = std::max({largest, f.in, f.out});
    if (!off_scale(f)) largest_trading = std::max({largest_trading, f.in, f.out});
  }
  const Money whole = largest_trading > 0 ? largest_trading : largest;
  std::vector<std::string> labels;
  BarSeries in{has_out ? "in (USD)" : "moved (USD)", "#2e9e5b", {}};
  BarSeries out{"out (USD)", "#c94c4c", {}};
  for (const CashFlow& f : flows) {
    std::string label =
        f.reason + ": " +
        (has_out ? "in " + page::cents(ops::usd(f.in)) + ", out " + page::cents(ops::usd(f.out))
                 : page::cents(ops::usd(f.in)));
    if (std::max(f.in, f.out) > whole) label += " (off scale)";
    labels.push_back(label);
    in.values.push_back(ops::usd(f.in));
    out.values.push_back(ops::usd(f.out));
  }
  std::vector<BarSeries> series{in};
  if (has_out) series.push_back(out);
  return bar_chart(charts, has_out ? "Cash flow by reason" : "Money moved by reason", labels,
                   series, "USD", ops::usd(std::max<Money>(whole, 1)));
}

}  // namespace

std::string render_html(const Report& report) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>gpux settlement "
      "report " +
      escape(report.day) + ", " + escape(report.scope_name) + "</title><style>" + kStyle +
      "</style></head><body>\n";
  html += "<h1>gpux settlement report: " + escape(report.scope_name) + "</h1>";
  html += "<p class=\"meta\">Trading day " + escape(report.day) +
          " (UTC), from the journal through command " + std::to_string(report.through_sequence) +
          ". Amounts in USD; fees and VWAP rounded down to the micro-USD.</p>\n";
  html += "<h2>Summary</h2>" + summary_table(report.summary, "balances_reconcile") +
          "\n<h2>Charts</h2>";
  ChartSet charts;
  if (report.hourly.empty()) html += "<p>No trades this day.</p>";
  for (const ProductHours& p : report.hourly)
    html += hourly_chart(charts, p);
  if (!report.pass_rates.empty()) html += pass_rate_chart(charts, report.pass_rates);
  if (!report.cash_flow.empty())
    html += cash_flow_chart(charts, report.cash_flow, report.cash_flow_has_out);
  if (!charts.empty()) {
    const std::string_view library = market_data::chart_library();
    if (library.find("</script") != std::string_view::npos)
      throw std::runtime_error("the charting library cannot be inlined: it holds </script");
    html += "<script>" + std::string(library) + "</script>\n" + kDrawCharts;
  }
  for (const Table& table : report.tables)
    html += html_table(table) + "\n";
  return html + "</body></html>\n";
}

std::vector<std::filesystem::path> write_report(const Report& report,
                                                const std::filesystem::path& directory) {
  std::filesystem::create_directories(directory);
  std::vector<std::filesystem::path> written;
  const auto write = [&](const std::string& file, const std::string& content) {
    write_file(directory / file, content);
    written.push_back(directory / file);
  };
  std::string summary = csv_line({"metric", "value"});
  for (const Figure& f : report.summary)
    summary += csv_line({f.key, f.value});
  write("summary.csv", summary);
  for (const Table& table : report.tables) {
    std::string csv = csv_line(table.columns);
    for (const auto& row : table.rows)
      csv += csv_line(row);
    write(table.name + ".csv", csv);
  }
  write("report.html", render_html(report));
  return written;
}

}  // namespace gpux::report
