// CSV files and the HTML page. The page carries its own style and draws its
// charts as inline SVG computed here, so it renders without network access or
// scripts, and the same report gives the same bytes.
#include <algorithm>
#include <fstream>
#include <stdexcept>

#include "report/journal_replay.h"
#include "report/report.h"

namespace gpux::report {

namespace {

// Long tables stay whole in their CSV; the page shows their start.
constexpr std::size_t kPageRows = 1000;

std::string csv_field(const std::string& field) {
  if (field.find_first_of(",\"\n\r") == std::string::npos) return field;
  std::string quoted = "\"";
  for (char c : field)
    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += ',';
    line += csv_field(fields[i]);
  }
  return line + "\n";
}

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

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

// "1234567.891234" (the CSV's exact micro-USD) as the page shows money:
// to the cent, half away from zero, with thousands separators. Text that
// is not such a number is shown as it is.
std::string cents(const std::string& usd) {
  const bool negative = !usd.empty() && usd[0] == '-';
  const std::string digits = negative ? usd.substr(1) : usd;
  const auto point = digits.find('.');
  if (point == std::string::npos || point == 0 || digits.size() - point - 1 != 6 ||
      digits.find_first_not_of("0123456789.") != std::string::npos || point > 15)
    return usd;
  const std::int64_t micro =
      std::stoll(digits.substr(0, point)) * 1'000'000 + std::stoll(digits.substr(point + 1));
  const std::int64_t rounded = (micro + 5'000) / 10'000;  // cents
  std::string whole = std::to_string(rounded / 100);
  for (std::size_t at = whole.size(); at > 3; at -= 3)
    whole.insert(at - 3, ",");
  const std::int64_t cent = rounded % 100;
  return std::string(negative && rounded != 0 ? "-" : "") + whole + "." + (cent < 10 ? "0" : "") +
         std::to_string(cent);
}

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

const char* const kStyle =
    "body{font-family:sans-serif;margin:24px;color:#1d2733;background:#fff}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}"
    "p.meta{color:#52606d;margin:0 0 16px}"
    "table{border-collapse:collapse;font-size:13px}"
    "th,td{border:1px solid #d5dbe1;padding:3px 8px;text-align:right}"
    "th{background:#eef2f6}td.text,th.text{text-align:left}"
    "table.summary th{text-align:left}"
    ".chart{display:block;margin:8px 0 16px}"
    ".chart text{font-size:12px;fill:#1d2733}.chart text.heading{font-weight:bold}"
    ".chart text.axis,.chart text.vwap-axis{fill:#52606d}"
    ".plot{fill:#f4f6f8;stroke:#d5dbe1}.volume{fill:#3b82c4}"
    ".vwap{fill:none;stroke:#e07b00;stroke-width:2}.vwap-dot{fill:#e07b00}"
    ".passed{fill:#2e9e5b}.inflow{fill:#2e9e5b}.outflow{fill:#c94c4c}"
    ".ok{color:#2e9e5b;font-weight:bold}.bad{color:#c94c4c;font-weight:bold}";

bool numeric(const std::string& column) {
  return column != "time" && column != "product" && column != "account" && column != "provider" &&
         column != "reason" && column != "aggressor" && column != "outcome" &&
         column != "failure" && column != "reconciles";
}

// A CSV column's name as a person reads it: "price_usd" is "Price (USD)".
std::string heading(const std::string& column) {
  std::string words = column;
  std::string unit;
  for (const auto& [suffix, name] :
       {std::pair<std::string, std::string>{"_usd", " (USD)"}, {"_percent", " (%)"}})
    if (words.size() > suffix.size() &&
        words.compare(words.size() - suffix.size(), suffix.size(), suffix) == 0) {
      words.resize(words.size() - suffix.size());
      unit = name;
    }
  std::replace(words.begin(), words.end(), '_', ' ');
  if (!words.empty() && words[0] >= 'a' && words[0] <= 'z') words[0] = char(words[0] - 'a' + 'A');
  return words + unit;
}

bool money(const std::string& column) {
  return column.size() > 4 && column.compare(column.size() - 4, 4, "_usd") == 0;
}

std::string html_table(const Table& table) {
  std::string html = "<h2>" + escape(table.title) + "</h2>";
  if (table.rows.empty()) return html + "<p>None.</p>";
  html += "<table data-table=\"" + escape(table.name) + "\"><tr>";
  for (const std::string& c : table.columns)
    html += "<th" + std::string(numeric(c) ? "" : " class=\"text\"") + ">" + escape(heading(c)) +
            "</th>";
  html += "</tr>";
  const std::size_t shown = std::min(table.rows.size(), kPageRows);
  for (std::size_t r = 0; r < shown; ++r) {
    html += "<tr>";
    for (std::size_t c = 0; c < table.columns.size(); ++c)
      html += "<td" + std::string(numeric(table.columns[c]) ? "" : " class=\"text\"") + ">" +
              escape(money(table.columns[c]) ? cents(table.rows[r][c]) : table.rows[r][c]) +
              "</td>";
    html += "</tr>";
  }
  html += "</table>";
  if (shown < table.rows.size())
    html += "<p>The first " + num(static_cast<std::int64_t>(shown)) + " of " +
            num(static_cast<std::int64_t>(table.rows.size())) + " rows; all of them are in " +
            escape(table.name) + ".csv.</p>";
  return html;
}

void write_file(const std::filesystem::path& path, const std::string& content) {
  // Written aside and renamed, so a report is never seen half-written.
  const std::filesystem::path partial = path.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    if (!out) throw std::runtime_error("cannot write " + partial.string());
  }
  std::filesystem::rename(partial, path);
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
  html += "<h2>Summary</h2><table class=\"summary\">";
  for (const Figure& f : report.summary) {
    const bool verdict = f.key == "balances_reconcile";
    html += "<tr><th>" + escape(f.label) + "</th><td data-metric=\"" + escape(f.key) + "\"" +
            (verdict ? std::string(" class=\"") + (f.value == "yes" ? "ok" : "bad") + "\"" : "") +
            ">" + escape(f.value) + "</td></tr>";
  }
  html += "</table>\n<h2>Charts</h2>";
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
