// CSV files and the HTML page. The page carries its own style and draws its
// charts as inline SVG computed here, so it renders without network access or
// scripts, and the same report gives the same bytes.
#include <algorithm>
#include <fstream>
#include <stdexcept>

#include "report/journal_replay.h"
#include "report/page.h"
#include "report/report.h"

namespace gpux::report {

namespace {

using page::cents;
using page::csv_line;
using page::escape;
using page::html_table;
using page::kStyle;
using page::summary_table;
using page::write_file;

// value / whole of `span` pixels, for non-negative values; 0 when whole is 0.
std::int64_t scale(std::int64_t value, std::int64_t whole, std::int64_t span) {
  if (whole <= 0 || value <= 0) return 0;
  return static_cast<std::int64_t>(static_cast<__int128>(value) * span / whole);
}

std::string num(std::int64_t v) {
  return std::to_string(v);
}

// A text element; `anchor` is start, middle or end.
std::string svg_text(std::int64_t x, std::int64_t y, const std::string& text,
                     const char* anchor = "start", const char* css = "") {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" + anchor + "\"" +
         (*css ? std::string(" class=\"") + css + "\"" : "") + ">" + escape(text) + "</text>";
}

std::string svg_rect(std::int64_t x, std::int64_t y, std::int64_t w, std::int64_t h,
                     const char* css) {
  return "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" +
         num(h) + "\" class=\"" + css + "\"/>";
}

constexpr const char* kHours[24] = {"00", "01", "02", "03", "04", "05", "06", "07",
                                    "08", "09", "10", "11", "12", "13", "14", "15",
                                    "16", "17", "18", "19", "20", "21", "22", "23"};

// The smallest 1, 2, 2.5 or 5 times a power of ten at or above `value`
// (micro-USD): the top of a price axis people can read.
matching::Price nice_ceiling(matching::Price value) {
  for (matching::Price decade = 1;; decade *= 10)
    for (const matching::Price step : {decade, 2 * decade, 5 * decade / 2, 5 * decade})
      if (step >= value) return step;
}

// Bars of volume per hour and the VWAP as a line over them, for one product,
// against a price axis from zero: a VWAP's height is its price.
std::string hourly_chart(const ProductHours& p) {
  constexpr std::int64_t kLeft = 70, kSlot = 25, kTop = 24, kHeight = 150;
  constexpr std::int64_t kBottom = kTop + kHeight, kWidth = kLeft + 24 * kSlot + 110;
  std::int64_t max_volume = 0;
  matching::Price high = 0;
  for (std::size_t h = 0; h < 24; ++h) {
    max_volume = std::max<std::int64_t>(max_volume, p.volume[h]);
    if (p.volume[h] != 0) high = std::max(high, p.vwap[h]);
  }
  const matching::Price top = nice_ceiling(std::max<matching::Price>(high, 1));
  const auto vwap_y = [&](matching::Price v) { return kBottom - scale(v, top, kHeight); };
  std::string svg = "<svg class=\"chart\" role=\"img\" width=\"" + num(kWidth) + "\" height=\"" +
                    num(kBottom + 36) + "\" viewBox=\"0 0 " + num(kWidth) + " " +
                    num(kBottom + 36) + "\"><title>" + escape(p.product) +
                    ": volume and VWAP by hour</title>";
  svg += svg_text(kLeft, 14, p.product, "start", "heading");
  svg += svg_rect(kLeft, kTop, 24 * kSlot, kHeight, "plot");
  std::string line, dots;  // the VWAP: a line through a dot per traded hour
  for (std::size_t h = 0; h < 24; ++h) {
    const std::int64_t x = kLeft + static_cast<std::int64_t>(h) * kSlot;
    if (h % 3 == 0) svg += svg_text(x + kSlot / 2, kBottom + 16, kHours[h], "middle");
    if (p.volume[h] == 0) continue;
    const std::int64_t bar = std::max<std::int64_t>(1, scale(p.volume[h], max_volume, kHeight));
    svg += svg_rect(x + 3, kBottom - bar, kSlot - 6, bar, "volume");
    line += num(x + kSlot / 2) + "," + num(vwap_y(p.vwap[h])) + " ";
    dots += "<circle class=\"vwap-dot\" cx=\"" + num(x + kSlot / 2) + "\" cy=\"" +
            num(vwap_y(p.vwap[h])) + "\" r=\"4\"/>";
  }
  if (!line.empty()) {
    line.pop_back();
    svg += "<polyline class=\"vwap\" points=\"" + line + "\"/>" + dots;
  }
  svg += svg_text(kLeft - 6, kTop + 10, num(max_volume), "end");
  svg += svg_text(kLeft - 6, kBottom, "0", "end");
  // The price axis, on the right: zero, half and the top.
  for (const matching::Price tick : {matching::Price{0}, top / 2, top})
    svg += svg_text(kLeft + 24 * kSlot + 6, vwap_y(tick) + 4, "$" + cents(ops::usd(tick)), "start",
                    "vwap-axis");
  svg += svg_text(kLeft + 12 * kSlot, kBottom + 32,
                  "hour (UTC) - bars: volume in units, line: VWAP in USD", "middle", "axis");
  return svg + "</svg>";
}

// One labelled horizontal bar per row; `fill` of `whole` filled.
struct BarRow {
  std::string label;
  std::int64_t first = 0;   // drawn from the left
  std::int64_t second = 0;  // drawn below the first when a chart has two series
  std::string note;
};

std::string bar_chart(const std::string& title, const std::vector<BarRow>& rows, std::int64_t whole,
                      bool two_series, const char* first_css, const char* second_css) {
  constexpr std::int64_t kLabel = 230, kBar = 420, kNote = 260;
  const std::int64_t row_height = two_series ? 34 : 24;
  const std::int64_t height = 24 + row_height * static_cast<std::int64_t>(rows.size()) + 8;
  std::string svg = "<svg class=\"chart\" role=\"img\" width=\"" + num(kLabel + kBar + kNote) +
                    "\" height=\"" + num(height) + "\" viewBox=\"0 0 " +
                    num(kLabel + kBar + kNote) + " " + num(height) + "\"><title>" + escape(title) +
                    "</title>";
  svg += svg_text(0, 14, title, "start", "heading");
  std::int64_t y = 24;
  for (const BarRow& row : rows) {
    svg += svg_text(kLabel - 8, y + 14, row.label, "end");
    svg += svg_rect(kLabel, y + 2, kBar, two_series ? 26 : 16, "plot");
    // A value past `whole` fills its bar; its note says so.
    const auto width = [&](std::int64_t value) {
      return std::min(kBar, scale(value, whole, kBar));
    };
    svg += svg_rect(kLabel, y + 2, width(row.first), two_series ? 12 : 16, first_css);
    if (two_series) svg += svg_rect(kLabel, y + 16, width(row.second), 12, second_css);
    svg += svg_text(kLabel + kBar + 8, y + 14, row.note);
    y += row_height;
  }
  return svg + "</svg>";
}

std::string pass_rate_chart(const std::vector<PassRate>& rates) {
  std::vector<BarRow> rows;
  for (const PassRate& r : rates) {
    // Groups exist only for challenges recorded: `recorded` is never 0.
    rows.push_back({r.label, static_cast<std::int64_t>(r.passed * 1000 / r.recorded), 0,
                    percent(r.passed, r.recorded) + "% (" +
                        num(static_cast<std::int64_t>(r.passed)) + " of " +
                        num(static_cast<std::int64_t>(r.recorded)) + ")"});
  }
  return bar_chart("Verification pass rate", rows, 1000, false, "passed", "");
}

std::string cash_flow_chart(const std::vector<CashFlow>& flows, bool has_out) {
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
  std::vector<BarRow> rows;
  for (const CashFlow& f : flows) {
    std::string note =
        has_out ? "in " + ops::usd(f.in) + ", out " + ops::usd(f.out) : ops::usd(f.in) + " USD";
    if (std::max(f.in, f.out) > whole) note += " (off scale)";
    rows.push_back({f.reason, f.in, f.out, note});
  }
  largest = whole;
  return bar_chart(
      has_out ? "Cash flow by reason (USD; green in, red out)" : "Money moved by reason (USD)",
      rows, largest, has_out, "inflow", "outflow");
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
          " (UTC), from the journal through command " +
          num(static_cast<std::int64_t>(report.through_sequence)) +
          ". Amounts in USD; fees and VWAP rounded down to the micro-USD.</p>\n";
  html += "<h2>Summary</h2>" + summary_table(report.summary, "balances_reconcile") +
          "\n<h2>Charts</h2>";
  if (report.hourly.empty()) html += "<p>No trades this day.</p>";
  for (const ProductHours& p : report.hourly)
    html += hourly_chart(p) + "\n";
  if (!report.pass_rates.empty()) html += pass_rate_chart(report.pass_rates) + "\n";
  if (!report.cash_flow.empty())
    html += cash_flow_chart(report.cash_flow, report.cash_flow_has_out) + "\n";
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
