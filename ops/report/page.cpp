// The report's and the statement's shared page parts.
#include "report/page.h"

#include <algorithm>
#include <fstream>
#include <stdexcept>

namespace gpux::report::page {

namespace {

// Long tables stay whole in their CSV; the page shows their start.
constexpr std::size_t kPageRows = 1000;
constexpr std::size_t kPageColumns = 11;
constexpr std::size_t kKeyColumns = 2;

std::string csv_field(const std::string& field) {
  if (field.find_first_of(",\"\n\r") == std::string::npos) return field;
  std::string quoted = "\"";
  for (char c : field)
    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

bool numeric(const std::string& column) {
  return column != "time" && column != "product" && column != "account" && column != "provider" &&
         column != "reason" && column != "aggressor" && column != "outcome" &&
         column != "failure" && column != "reconciles" && column != "description" &&
         column != "kind";
}

bool money(const std::string& column) {
  return column.size() > 4 && column.compare(column.size() - 4, 4, "_usd") == 0;
}

}  // namespace

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
  const std::string dollars = std::to_string(rounded / 100);
  std::string whole;
  for (std::size_t i = 0; i < dollars.size(); ++i) {
    if (i > 0 && (dollars.size() - i) % 3 == 0) whole += ',';
    whole += dollars[i];
  }
  const std::int64_t cent = rounded % 100;
  return std::string(negative && rounded != 0 ? "-" : "") + whole + "." + (cent < 10 ? "0" : "") +
         std::to_string(cent);
}

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

std::string html_table(const Table& table, const std::string& css) {
  std::string html = "<h2>" + escape(table.title) + "</h2>";
  if (table.rows.empty()) return html + "<p>None.</p>";
  // A table wider than a page is shown as parts of at most kPageColumns,
  // each after the first repeating the first kKeyColumns (time and what the
  // row is about), so that it fits a laptop screen and A4 landscape.
  std::vector<std::vector<std::size_t>> parts{{}};
  for (std::size_t c = 0; c < table.columns.size(); ++c) {
    if (parts.back().size() == kPageColumns) {
      parts.emplace_back();
      for (std::size_t key = 0; key < kKeyColumns; ++key)
        parts.back().push_back(key);
    }
    parts.back().push_back(c);
  }
  const std::size_t shown = std::min(table.rows.size(), kPageRows);
  for (std::size_t part = 0; part < parts.size(); ++part) {
    const std::string name = table.name + (part == 0 ? "" : "-" + std::to_string(part + 1));
    html += "<table data-table=\"" + escape(name) + "\"" +
            (css.empty() ? "" : " class=\"" + escape(css) + "\"") + "><tr>";
    for (const std::size_t c : parts[part])
      html += "<th" + std::string(numeric(table.columns[c]) ? "" : " class=\"text\"") + ">" +
              escape(heading(table.columns[c])) + "</th>";
    html += "</tr>";
    for (std::size_t r = 0; r < shown; ++r) {
      html += "<tr>";
      for (const std::size_t c : parts[part])
        html += "<td" + std::string(numeric(table.columns[c]) ? "" : " class=\"text\"") + ">" +
                escape(money(table.columns[c]) ? cents(table.rows[r][c]) : table.rows[r][c]) +
                "</td>";
      html += "</tr>";
    }
    html += "</table>";
  }
  if (shown < table.rows.size())
    html += "<p>The first " + std::to_string(shown) + " of " + std::to_string(table.rows.size()) +
            " rows; all of them are in " + escape(table.name) + ".csv.</p>";
  return html;
}

std::string summary_table(const std::vector<Figure>& figures, const std::string& verdict_key) {
  std::string html = "<table class=\"summary\">";
  for (const Figure& f : figures) {
    const bool verdict = f.key == verdict_key;
    // Money to the cent for people; the exact figure stays on the element.
    html += "<tr><th>" + escape(f.label) + "</th><td data-metric=\"" + escape(f.key) +
            "\" data-value=\"" + escape(f.value) + "\"" +
            (verdict ? std::string(" class=\"") + (f.value == "yes" ? "ok" : "bad") + "\"" : "") +
            ">" + escape(money(f.key) ? cents(f.value) : f.value) + "</td></tr>";
  }
  return html + "</table>";
}

const char* const kStyle =
    "body{font-family:sans-serif;margin:24px;color:#1d2733;background:#fff}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}"
    "p.meta{color:#52606d;margin:0 0 16px}"
    "table{border-collapse:collapse;font-size:13px}"
    "th,td{border:1px solid #d5dbe1;padding:3px 8px;text-align:right}"
    "th{background:#eef2f6}td.text,th.text{text-align:left}"
    "table.summary th{text-align:left}"
    ".chart{margin:8px 0 20px}table+table{margin-top:10px}"
    ".ok{color:#2e9e5b;font-weight:bold}.bad{color:#c94c4c;font-weight:bold}"
    // A statement prints on A4 landscape: its lines keep each figure on one
    // line and let the description take the width left.
    "@page{size:A4 landscape;margin:12mm}"
    "body.statement table.lines{width:100%}"
    "body.statement table.lines td{white-space:nowrap}"
    "body.statement table.lines td:nth-child(3){white-space:normal}"
    "body.statement tr{break-inside:avoid}"
    "@media print{body{margin:0}}";

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

}  // namespace gpux::report::page
