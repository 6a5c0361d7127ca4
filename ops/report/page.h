// What the report's and the statement's files share: CSV lines, HTML
// escaping, money to the cent for people, tables and the page's style, and
// writing a file so that it is never seen half-written.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "report/report.h"

namespace gpux::report::page {

// One CSV record, fields quoted where they hold a comma, quote or newline.
std::string csv_line(const std::vector<std::string>& fields);

std::string escape(const std::string& text);

// "1234567.891234" (exact micro-USD, as the CSV holds it) as the page shows
// money: to the cent, half away from zero, with thousands separators. Text
// that is not such a number is returned as it is.
std::string cents(const std::string& usd);

// A CSV column's name as a person reads it: "price_usd" is "Price (USD)".
std::string heading(const std::string& column);

// `table` with its title; money columns (…_usd) to the cent; at most the
// first 1000 rows, saying so when there are more; more than 11 columns in
// parts that repeat the first two. `css` classes the table.
std::string html_table(const Table& table, const std::string& css = "");

// Label and value rows; each value carries data-metric="KEY" and its exact
// text as data-value, shows money (KEY ending _usd) to the cent, and a
// yes/no verdict under `verdict_key` is coloured.
std::string summary_table(const std::vector<Figure>& figures, const std::string& verdict_key);

// The page's style, for screens and for print.
extern const char* const kStyle;

// `content` into `path`, written aside and renamed.
void write_file(const std::filesystem::path& path, const std::string& content);

}  // namespace gpux::report::page
