// SPDX-License-Identifier: Apache-2.0
// Writing the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): family
// headers, escaped label values and numbers. Header-only; used by
// NodeStatus::to_prometheus and RedisStatus::to_prometheus.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace atomik::transport::detail {

class PromWriter {
 public:
  // "# HELP name help\n# TYPE name type\n". help must hold no newline or
  // backslash (ours are constants).
  void family(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  // A family of one sample without labels: family() then sample().
  void single(const char* name, const char* type, const char* help,
              std::uint64_t v) {
    family(name, type, help);
    sample(name, v);
  }
  // A sample without labels.
  void sample(const char* name, std::uint64_t v) {
    out_ += name;
    out_ += ' ';
    out_ += std::to_string(v);
    out_ += '\n';
  }
  void sample(const char* name, double v) {
    out_ += name;
    out_ += ' ';
    out_ += number(v);
    out_ += '\n';
  }
  // A sample with one label; the value is escaped (\\, \", \n).
  void sample(const char* name, const char* label, const std::string& value,
              std::uint64_t v) {
    out_ += name;
    out_ += '{';
    out_ += label;
    out_ += "=\"";
    for (const char c : value) {
      if (c == '\\') {
        out_ += "\\\\";
      } else if (c == '"') {
        out_ += "\\\"";
      } else if (c == '\n') {
        out_ += "\\n";
      } else {
        out_ += c;
      }
    }
    out_ += "\"} ";
    out_ += std::to_string(v);
    out_ += '\n';
  }
  // Shortest round-trip decimal form of a double ("0.00025", "1e-05").
  static std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    // Prefer the shortest form that reads back the same.
    for (int prec = 1; prec < 17; ++prec) {
      char shorter[32];
      std::snprintf(shorter, sizeof shorter, "%.*g", prec, v);
      if (std::strtod(shorter, nullptr) == v) return shorter;
    }
    return buf;
  }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

}  // namespace atomik::transport::detail
