// SPDX-License-Identifier: Apache-2.0
// `atomik bench`: runs the named workloads of every benchmark binary, prints
// each figure next to the baseline measured in the same run and their ratio,
// and writes docs/performance.md-ready Markdown and a PNG plot (gnuplot).
//
// The benchmark binaries are Google Benchmark programs built by the release
// preset in <build>/bench/ and installed to <libexecdir>/atomik; they are run
// as child processes with --benchmark_format=json, read with nlohmann::json
// (name, real_time, time_unit, bytes_per_second, items_per_second).
//
// Exit: 0 every figure present and every target met (--quick: targets are
// shown but not enforced, the runs are too short to judge); 1 a figure
// missing, a benchmark or gnuplot failing, or a target missed; 2 usage.
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.hpp"

namespace atomik::cli {
namespace {

namespace fs = std::filesystem;

#ifndef ATOMIK_GIT_COMMIT
#define ATOMIK_GIT_COMMIT "unknown"
#endif

// Which rate a comparison reads from a benchmark line. kCounter: the
// subject line's user counter named by `baseline`, already a ratio to a
// baseline the benchmark measured in the same run (replication_bench's
// summary, the alternating add / xor comparisons).
enum class Metric { kItems, kBytes, kTime, kCounter };

// One figure: `subject` against `baseline` from the same binary and run.
// ratio = subject rate / baseline rate (for kTime: baseline time / subject
// time, so bigger is better everywhere). `target` is the threshold
// for the ratio (0: none); `floor` an absolute floor on the subject's rate.
struct Comparison {
  const char* workload;  // fan-in, batch accum, fingerprint, ...
  const char* binary;    // file name in the bench directory
  const char* subject;   // exact benchmark name
  const char* baseline;  // exact benchmark name
  Metric metric;
  double target;
  double floor;
  const char* note;
};

// Written to docs/performance.md by --markdown; keep names in step with
// bench/*.cpp (a missing name is reported, never silently skipped).
constexpr Comparison kComparisons[] = {
    {"batch accum", "context_bench", "BM_ContextAccumBatch/33554432",
     "BM_PlainXorReduce/33554432", Metric::kItems, 0.8, 2.0e9,
     "256 MiB of 64-bit deltas vs a plain XOR-reduce loop"},
    {"fan-in", "fan_in_bench", "BM_ConcurrentContextWriter/real_time/threads:2",
     "BM_SharedAtomicFetchXor/real_time/threads:2", Metric::kItems, 10.0, 0,
     "2 threads, claimed cells vs one shared fetch_xor"},
    {"fan-in", "fan_in_bench", "BM_ConcurrentContextAccum/real_time/threads:2",
     "BM_SharedAtomicFetchXor/real_time/threads:2", Metric::kItems, 10.0, 0,
     "2 threads, accum() vs one shared fetch_xor"},
    {"fan-in", "fan_in_bench", "BM_ConcurrentContextWriter/real_time/threads:2",
     "BM_MutexXor/real_time/threads:2", Metric::kItems, 30.0, 0,
     "2 threads vs a std::mutex"},
    {"fan-in", "fan_in_bench",
     "BM_SharedContextProcesses/100000000/iterations:3/manual_time",
     "BM_ConcurrentContextAccum/real_time/threads:2", Metric::kItems, 0.5, 0,
     "2 processes (shared memory) vs 2 threads"},
    {"fingerprint", "fingerprint_bench", "BM_FingerprintFull/1024",
     "BM_Xxh3_128/1024", Metric::kBytes, 0.9, 0,
     "full fingerprint of 1 KiB vs XXH3-128"},
    {"fingerprint", "fingerprint_bench", "BM_FingerprintFull/1048576",
     "BM_Xxh3_128/1048576", Metric::kBytes, 0.9, 0,
     "full fingerprint of 1 MiB vs XXH3-128"},
    {"fingerprint", "fingerprint_bench", "BM_FingerprintFull/268435456",
     "BM_Xxh3_128/268435456", Metric::kBytes, 0.9, 0,
     "full fingerprint of 256 MiB vs XXH3-128"},
    {"fingerprint", "fingerprint_bench", "BM_FingerprintUpdateRange64B_1GiB",
     "BM_FingerprintFull_1GiB", Metric::kTime, 10000, 0,
     "update_range of 64 B in 1 GiB vs recomputing it"},
    {"stream apply", "stream_bench", "BM_StreamApplyMessages/0",
     "BM_StreamBaselineDecodeTableAccum", Metric::kItems, 0, 50e6,
     "decode+dedup+apply into 1M addresses (>= 50 M/s)"},
    {"stream apply", "stream_bench", "BM_StreamApplyMessages/1",
     "BM_StreamBaselineDecodeTableAccum", Metric::kItems, 0, 30e6,
     "the same with the digest kept current (>= 30 M/s)"},
    {"stream apply", "stream_bench", "BM_FrameEncode/4096",
     "BM_FrameMemcpy/4096", Metric::kBytes, 0, 2e9,
     "frame encode, 4096 records (>= 2 GB/s)"},
    {"stream apply", "stream_bench", "BM_FrameDecode/4096",
     "BM_FrameMemcpy/4096", Metric::kBytes, 0, 2e9,
     "frame decode, 4096 records (>= 2 GB/s)"},
    {"WAL", "wal_bench", "BM_WalAppendGroup1ms/real_time",
     "BM_RawWrite16Sync1ms/real_time", Metric::kItems, 0.5, 0,
     "16-byte appends, group commit every 1 ms vs raw write() + same syncs"},
    {"WAL", "wal_bench", "BM_WalRecover/real_time",
     "BM_RawReadSegments/real_time", Metric::kBytes, 0.5, 0,
     "recovery (read + verify + apply) vs raw read() of the same files"},
    {"WAL", "wal_bench", "BM_WalRecoverRuns/real_time",
     "BM_RawReadSegmentsRuns/real_time", Metric::kBytes, 0.5, 0,
     "the same for a log of batches (DELTA_RUN frames of 1024 deltas)"},
    {"WAL", "wal_bench", "BM_WalRecoverSingles/real_time",
     "BM_RawReadSegmentsSingles/real_time", Metric::kBytes, 0, 0,
     "worst case: every delta its own DELTA frame (no target)"},
    {"replication", "redis_bench",
     "BM_RedisNodeAddOverXor/iterations:1/real_time", "add_over_xor",
     Metric::kCounter, 0.9, 0,
     "add / xor: `node --redis` pairs, 2^20 addresses, batch 65536 "
     "(alternating pairs)"},
    {"replication", "group_bench", "BM_GroupAddOverXor/iterations:1/real_time",
     "add_over_xor", Metric::kCounter, 0.9, 0,
     "add / xor: two TCP nodes, batch 65536 (alternating pairs)"},
    // replication_bench computes these in BM_ReplicationSummary from the
    // benchmarks before it (Redis started by the benchmark): the whole
    // binary runs.
    {"replication", "replication_bench", "BM_ReplicationSummary/iterations:1",
     "ratio_vs_redis", Metric::kCounter, 10.0, 0,
     "two nodes vs Redis XADD -P16 (redis-benchmark)"},
    {"replication", "replication_bench", "BM_ReplicationSummary/iterations:1",
     "metrics_ratio_16k", Metric::kCounter, 0.95, 0,
     "with --metrics scraped and logging vs without, batch 16384"},
    {"replication", "replication_bench", "BM_ReplicationSummary/iterations:1",
     "metrics_ratio_64k", Metric::kCounter, 0.95, 0,
     "with --metrics scraped and logging vs without, batch 65536"},
};

struct Line {
  double real_time_ns = 0;
  double bytes_per_second = 0;
  double items_per_second = 0;
  std::map<std::string, double> counters;  // every numeric member
};

double to_ns(double t, const std::string& unit) {
  if (unit == "us") return t * 1e3;
  if (unit == "ms") return t * 1e6;
  if (unit == "s") return t * 1e9;
  return t;
}

// Runs `binary` with `filter` and returns name -> line. The JSON goes to a
// file of its own (--benchmark_out), so whatever a benchmark prints on
// stdout cannot corrupt it. Sets *error on a failure to start, a non-zero
// exit or output that is not benchmark JSON.
std::map<std::string, Line> run_binary(const fs::path& binary,
                                       const std::string& filter,
                                       const std::string& min_time,
                                       std::string* error) {
  std::map<std::string, Line> out;
  const fs::path json_file = fs::temp_directory_path() /
                             ("atomik-bench-" + std::to_string(::getpid()) +
                              "-" + binary.filename().string() + ".json");
  const std::string cmd =
      "'" + binary.string() + "' --benchmark_out='" + json_file.string() +
      "' --benchmark_out_format=json" + " --benchmark_min_time=" + min_time +
      " '--benchmark_filter=" + filter + "' >/dev/null 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) {
    *error = "cannot run " + binary.string();
    return out;
  }
  const int rc = ::pclose(p);
  if (rc != 0) {
    *error = binary.filename().string() + " exited with status " +
             std::to_string(WIFEXITED(rc) ? WEXITSTATUS(rc) : rc);
  }
  std::ifstream in(json_file);
  const std::string text((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  in.close();
  std::error_code ec;
  fs::remove(json_file, ec);
  // Google Benchmark's JSON: {"context": {...}, "benchmarks": [{"name",
  // "run_type", "real_time", "time_unit", "bytes_per_second",
  // "items_per_second", ...}]}. Aggregates (mean, median) are skipped.
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.contains("benchmarks") ||
      !doc["benchmarks"].is_array()) {
    if (error->empty()) {
      *error = binary.filename().string() + ": output is not benchmark JSON";
    }
    return out;
  }
  for (const nlohmann::json& b : doc["benchmarks"]) {
    if (!b.is_object() || !b.contains("name") || !b["name"].is_string()) {
      continue;
    }
    if (b.value("run_type", std::string("iteration")) != "iteration") continue;
    Line l;
    l.real_time_ns = to_ns(b.value("real_time", 0.0),
                           b.value("time_unit", std::string("ns")));
    l.bytes_per_second = b.value("bytes_per_second", 0.0);
    l.items_per_second = b.value("items_per_second", 0.0);
    for (const auto& [k, v] : b.items()) {
      if (v.is_number()) l.counters[k] = v.get<double>();
    }
    out[b["name"].get<std::string>()] = l;
  }
  return out;
}

// Escapes a benchmark name for a --benchmark_filter regex.
std::string regex_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string("^$.|?*+()[]{}\\").find(c) != std::string::npos) {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out;
}

double rate(const Line& l, Metric m) {
  switch (m) {
    case Metric::kItems:
      return l.items_per_second;
    case Metric::kBytes:
      return l.bytes_per_second;
    case Metric::kTime:
      return l.real_time_ns > 0 ? 1e9 / l.real_time_ns : 0;
    case Metric::kCounter:
      return 0;  // read by name (counter_row)
  }
  return 0;
}

std::string human(double v, Metric m) {
  char buf[64];
  const char* unit = m == Metric::kBytes ? "B/s" : "/s";
  if (v >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.2f G%s", v / 1e9, unit);
  } else if (v >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2f M%s", v / 1e6, unit);
  } else if (v >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.2f k%s", v / 1e3, unit);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f %s", v, unit);
  }
  return buf;
}

// "ratio >= 0.8x", "value >= 50.00 M/s", both, or "-".
std::string target_text(const Comparison& c) {
  std::string t;
  if (c.target > 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "ratio>=%gx", c.target);
    t = buf;
  }
  if (c.floor > 0) {
    t += (t.empty() ? "" : ", ") + (">=" + human(c.floor, c.metric));
  }
  return t.empty() ? "-" : t;
}

// Where the benchmark binaries may be, relative to this executable's
// directory: ../bench in a build tree (<build>/tools/atomik), and the
// install layout's <libexecdir>/atomik seen from <bindir>, so an installed
// (even moved) prefix finds its own benchmarks.
std::vector<fs::path> bench_dirs_beside_self() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  const fs::path bin = self.parent_path();
  std::vector<fs::path> out{bin.parent_path() / "bench"};
#ifdef ATOMIK_BENCH_INSTALL_RELDIR
  out.push_back((bin / ATOMIK_BENCH_INSTALL_RELDIR).lexically_normal());
#endif
  return out;
}

// The first candidate holding a benchmark binary; empty if none does.
fs::path default_bench_dir() {
  for (const fs::path& d : bench_dirs_beside_self()) {
    std::error_code ec;
    if (fs::exists(d / "context_bench", ec)) return d;
  }
  return {};
}

// The candidates, for the error message.
std::string bench_dir_candidates() {
  std::string out;
  for (const fs::path& d : bench_dirs_beside_self()) {
    if (!out.empty()) out += ", ";
    out += d.string();
  }
  return out.empty() ? "/proc/self/exe unreadable" : out;
}

struct Row {
  const Comparison* c = nullptr;
  double subject = 0;
  double baseline = 0;
  double ratio = 0;
  bool met = false;
  std::string problem;
};

// The first line of /proc/cpuinfo's "model name", else "unknown CPU".
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size()) {
        return line.substr(colon + 2);
      }
    }
  }
  return "unknown CPU";
}

// "<date UTC>, commit <c>, <cpu> x<n>, load <1-min>": the plot's title, so
// a PNG says when, what and where it was measured.
std::string run_context() {
  char date[32] = "unknown date";
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  if (::gmtime_r(&now, &tm) != nullptr) {
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tm);
  }
  std::string load = "?";
  std::ifstream("/proc/loadavg") >> load;
  char host[256] = "unknown host";
  (void)::gethostname(host, sizeof host - 1);
  return std::string(date) + ", commit " + ATOMIK_GIT_COMMIT + ", " + host +
         ": " + cpu_model() + " x" +
         std::to_string(::sysconf(_SC_NPROCESSORS_ONLN)) + ", load " + load;
}

// A short x label: "workload\nname" without "BM_" (a counter: its name),
// at most 30 characters.
std::string short_label(const std::string& workload, std::string n) {
  if (n.rfind("BM_", 0) == 0) n = n.substr(3);
  if (n.size() > 30) n = n.substr(0, 29) + "~";
  // No quotes inside the gnuplot data file's quoted label.
  for (char& ch : n) {
    if (ch == '"') ch = '\'';
  }
  return workload + "\\n" + n;
}

// One bar of the plot: a ratio against its target (0: none) and a rate
// against its absolute floor (0: none).
struct Bar {
  std::string label;
  double ratio = 0;
  double target = 0;
  double rate = 0;
  double floor = 0;
  bool met = false;
};

// The figures of `rows` that were measured, as bars.
std::vector<Bar> bars_of(const std::vector<Row>& rows) {
  std::vector<Bar> out;
  for (const Row& r : rows) {
    if (!r.problem.empty()) continue;
    const Comparison& c = *r.c;
    out.push_back(
        {short_label(c.workload,
                     c.metric == Metric::kCounter ? c.baseline : c.subject),
         r.ratio, c.target, r.subject, c.floor, r.met});
  }
  return out;
}

// The rows python/bench.py --json wrote ({"rows": [{"name", "ratio",
// "target", "met"}]}) as bars; a file that is not that JSON gives none
// (its Markdown table says what happened).
std::vector<Bar> python_bars(const std::string& file) {
  std::ifstream in(file);
  const nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  std::vector<Bar> out;
  if (doc.is_discarded() || !doc.contains("rows") || !doc["rows"].is_array()) {
    return out;
  }
  for (const nlohmann::json& r : doc["rows"]) {
    if (!r.is_object() || !r.contains("name") || !r["name"].is_string()) {
      continue;
    }
    out.push_back({short_label("python", r["name"].get<std::string>()),
                   r.value("ratio", 0.0), r.value("target", 0.0), 0, 0,
                   r.value("met", false)});
  }
  return out;
}

// Writes a PNG of two panels with gnuplot: ratios to their same-run
// baselines against the ratio targets, and absolute rates against their
// floors; green bars met every target of their figure, red ones missed one
// (a figure below its floor is red in both panels). Missing figures are
// not drawn (they are in the table and the exit status). The plotted
// figures stay in PLOT.dat (columns: index, label, ratio, target, colour,
// rate, floor). False, with a message, if gnuplot fails.
bool write_plot(const std::string& plot, const std::vector<Bar>& bars) {
  const std::string data = plot + ".dat";
  std::size_t n_ratio = 0;
  std::size_t n_floor = 0;
  {
    std::ofstream d(data);
    for (const Bar& b : bars) {
      const char* colour = b.met ? "0x2ca02c" : "0xd62728";
      d << n_ratio++ << " \"" << b.label << "\" " << b.ratio << " " << b.target
        << " " << colour << " " << b.rate << " " << b.floor << "\n";
      if (b.floor > 0) ++n_floor;
    }
  }
  if (n_ratio == 0) {
    std::fprintf(stderr, "atomik bench: no figures to plot\n");
    std::remove(data.c_str());
    return false;
  }
  const std::string xr =
      "set xrange [-0.6:" + std::to_string(n_ratio) + "-0.4]; ";
  const std::string gp =
      "set terminal pngcairo size 1600,1000 noenhanced font ',10'; set output "
      "'" +
      plot +
      "';\n"
      "set multiplot layout 2,1 title 'atomik bench: " +
      run_context() +
      "' font ',12';\n"
      "set style fill solid 0.7 border -1; set boxwidth 0.6 absolute;"
      " set grid y; set key top right; set logscale y; set bmargin 6;"
      " set xtics rotate by -25 font ',8' nomirror; " +
      xr +
      "\nset title 'ratio to a baseline measured in the same run (bigger is "
      "better; green: met, red: missed)';"
      " set ylabel 'ratio (x)';\n"
      "plot '" +
      data +
      "' using 1:3:5:xtic(2) with boxes lc rgb variable notitle,"
      " '' using 1:($4>0?$4:1/0) with points pt 9 ps 2 lc rgb 'black' "
      "title 'target ratio';\n"
      "set title 'absolute rate of the figures with a floor (items or bytes "
      "per second)'; set ylabel 'per second';\n" +
      (n_floor == 0
           ? std::string("unset logscale y; set yrange [0:1]; set label 1 'no "
                         "figure with an absolute floor in this run' at graph "
                         "0.5,0.5 center; plot 1/0 notitle;\n")
           : "plot '" + data +
                 "' using 1:($7>0?$6:1/0):5:xtic(2) with boxes lc rgb "
                 "variable notitle, '' using 1:($7>0?$7:1/0) with points "
                 "pt 5 ps 2 lc rgb 'black' title 'floor';\n") +
      "unset multiplot\n";
  // A script file, not -e: the script's $-columns must not meet a shell.
  const std::string script = plot + ".gp";
  std::ofstream(script) << gp;
  // popen, not std::system (concurrency-mt-unsafe): gnuplot's messages are
  // relayed to stdout; pclose gives the wait status.
  const std::string cmd = "gnuplot '" + script + "' 2>&1";
  int rc = -1;
  if (FILE* p = ::popen(cmd.c_str(), "r"); p != nullptr) {
    char buf[4096];
    while (std::fgets(buf, sizeof buf, p) != nullptr) std::fputs(buf, stdout);
    rc = ::pclose(p);
  }
  std::remove(script.c_str());
  if (rc != 0) {
    std::fprintf(
        stderr, "atomik bench: gnuplot failed (apt-get install gnuplot-nox)\n");
    return false;
  }
  std::fprintf(stderr, "wrote %s\n", plot.c_str());
  return true;
}

#ifdef ATOMIK_PYTHON_MODULE_DIR
// Whether the build tree holds the compiled core (atomik_core/_core.*.so).
bool python_module_built() {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(
           fs::path(ATOMIK_PYTHON_MODULE_DIR) / "atomik_core", ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("_core.", 0) == 0 && e.path().extension() == ".so") {
      return true;
    }
  }
  return false;
}
#endif

int run_bench(const std::string& bench_dir_flag, const std::string& only,
              const std::string& markdown, const std::string& plot,
              const std::string& min_time, bool quick) {
  fs::path dir = bench_dir_flag;
  if (dir.empty()) {
    dir = default_bench_dir();
    if (dir.empty()) {
      std::fprintf(stderr,
                   "atomik bench: no benchmark directory (looked in %s; build "
                   "the release preset, install with benchmarks, or pass "
                   "--bench-dir)\n",
                   bench_dir_candidates().c_str());
      return 1;
    }
  }
  if (!fs::is_directory(dir)) {
    std::fprintf(stderr,
                 "atomik bench: no benchmark directory %s (build the release "
                 "preset, or pass --bench-dir)\n",
                 dir.c_str());
    return 1;
  }
  // Group the wanted names per binary so each binary runs once.
  std::map<std::string, std::vector<std::string>> wanted;
  // A counter of a summary benchmark (named ...Summary...) is computed from
  // the benchmarks before it: its binary runs every benchmark. Other
  // counters are measured by their own benchmark.
  std::map<std::string, bool> whole;
  for (const Comparison& c : kComparisons) {
    if (!only.empty() && only != c.workload) continue;
    wanted[c.binary].push_back(c.subject);
    if (c.metric != Metric::kCounter) {
      wanted[c.binary].push_back(c.baseline);
    } else if (std::string(c.subject).find("Summary") != std::string::npos) {
      whole[c.binary] = true;
    }
  }
  if (wanted.empty() && only != "python" && only != "replication") {
    std::fprintf(stderr, "atomik bench: no workload named '%s'\n",
                 only.c_str());
    return 2;
  }
  std::map<std::string, std::map<std::string, Line>> results;
  std::map<std::string, std::string> errors;
  std::size_t step = 0;
  for (const auto& [binary, names] : wanted) {
    ++step;
    std::fprintf(stderr, "[%zu/%zu] running %s ...\n", step, wanted.size(),
                 binary.c_str());
    // One run per binary: a filter matching exactly the wanted names.
    std::string filter;
    for (const auto& n : names) {
      filter += (filter.empty() ? "^(" : "|") + regex_escape(n);
    }
    filter += ")$";
    if (whole[binary]) filter = ".";
    std::string error;
    results[binary] = run_binary(dir / binary, filter, min_time, &error);
    if (!error.empty()) errors[binary] = error;
  }
  std::vector<Row> rows;
  int missing = 0;  // a figure or binary that is not there
  int failed = 0;   // a benchmark program that failed
  int below = 0;    // a target or floor missed
  for (const Comparison& c : kComparisons) {
    if (!only.empty() && only != c.workload) continue;
    Row r;
    r.c = &c;
    const auto& res = results[c.binary];
    auto s = res.find(c.subject);
    if (c.metric == Metric::kCounter) {
      const auto* counters = s == res.end() ? nullptr : &s->second.counters;
      const auto v = counters == nullptr
                         ? std::map<std::string, double>::const_iterator{}
                         : counters->find(c.baseline);
      if (counters == nullptr || v == counters->end()) {
        r.problem =
            "missing counter " + std::string(c.baseline) + " of " + c.subject;
        if (errors.count(c.binary)) r.problem += " (" + errors[c.binary] + ")";
        ++missing;
      } else {
        r.subject = r.ratio = v->second;
        r.met = r.ratio >= c.target;
        if (!r.met) ++below;
      }
      rows.push_back(r);
      continue;
    }
    auto b = res.find(c.baseline);
    if (s == res.end() || b == res.end()) {
      r.problem =
          "missing " + std::string(s == res.end() ? c.subject : c.baseline);
      if (errors.count(c.binary)) r.problem += " (" + errors[c.binary] + ")";
      ++missing;
    } else {
      r.subject = rate(s->second, c.metric);
      r.baseline = rate(b->second, c.metric);
      r.ratio = r.baseline > 0 ? r.subject / r.baseline : 0;
      r.met = (c.target <= 0 || r.ratio >= c.target) &&
              (c.floor <= 0 || r.subject >= c.floor);
      if (!r.met) ++below;
    }
    rows.push_back(r);
  }
  // The Python bindings' benchmark (python/bench.py), when built: it prints
  // its own Markdown table of ratios to pure Python, measured in its run,
  // and writes the same rows as JSON for the plot. --quick: few calls.
  std::string python_table;
  std::vector<Bar> py_bars;
#if defined(ATOMIK_PYTHON_BENCH) && defined(ATOMIK_PYTHON_MODULE_DIR)
  if ((only.empty() || only == "python") && !python_module_built()) {
    std::fprintf(stderr,
                 "[python] skipped: no compiled atomik_core module in %s\n",
                 ATOMIK_PYTHON_MODULE_DIR);
  } else if ((only.empty() || only == "python") &&
             fs::exists(ATOMIK_PYTHON_BENCH)) {
    std::fprintf(stderr, "[python] running python/bench.py ...\n");
    const fs::path py_json =
        fs::temp_directory_path() /
        ("atomik-bench-" + std::to_string(::getpid()) + "-python.json");
    const std::string cmd =
        std::string("PYTHONPATH='") + ATOMIK_PYTHON_MODULE_DIR +
        "' /usr/bin/python3 '" + ATOMIK_PYTHON_BENCH + "' --cpp-bench '" +
        (dir / "fingerprint_bench").string() + "' --check --json '" +
        py_json.string() + "'" + (quick ? " --n 2000 --reps 3" : "");
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p != nullptr) {
      char buf[4096];
      while (std::fgets(buf, sizeof buf, p) != nullptr) python_table += buf;
      if (::pclose(p) != 0) {
        ++below;
        python_table += "(python/bench.py: a target was missed or it failed)\n";
      }
      py_bars = python_bars(py_json.string());
      std::error_code ec;
      fs::remove(py_json, ec);
    } else {
      ++failed;
      python_table += "(python/bench.py: cannot run)\n";
    }
  }
#else
  if (only == "python") {
    std::fprintf(stderr, "[python] not built (ATOMIK_BUILD_PYTHON)\n");
  }
#endif
  std::printf("%-12s %-48s %14s %14s %8s %8s\n", "workload", "figure", "value",
              "baseline", "ratio", "target");
  for (const Row& r : rows) {
    if (!r.problem.empty()) {
      std::printf("%-12s %-48s %s\n", r.c->workload, r.c->subject,
                  r.problem.c_str());
      continue;
    }
    if (r.c->metric == Metric::kCounter) {
      std::printf("%-12s %-48s %14s %14s %7.2fx %12s %s\n", r.c->workload,
                  r.c->subject, r.c->baseline, "same run", r.ratio,
                  target_text(*r.c).c_str(), r.met ? "" : "(below target)");
      continue;
    }
    std::printf("%-12s %-48s %14s %14s %7.2fx %12s %s\n", r.c->workload,
                r.c->subject, human(r.subject, r.c->metric).c_str(),
                human(r.baseline, r.c->metric).c_str(), r.ratio,
                target_text(*r.c).c_str(), r.met ? "" : "(below target)");
  }
  if (!python_table.empty()) {
    std::printf("\npython bindings:\n%s", python_table.c_str());
  }
  if (!markdown.empty()) {
    std::ofstream md(markdown);
    md << "| Workload | Figure | Value | Baseline (same run) | Ratio | Target "
          "|\n"
          "|---|---|---|---|---|---|\n";
    for (const Row& r : rows) {
      if (!r.problem.empty()) {
        md << "| " << r.c->workload << " | `" << r.c->subject << "` | "
           << r.problem << " | | | |\n";
        continue;
      }
      char ratio[32];
      std::snprintf(ratio, sizeof ratio, "%.2f×", r.ratio);
      if (r.c->metric == Metric::kCounter) {
        md << "| " << r.c->workload << " | " << r.c->note << " (`"
           << r.c->subject << "` counter `" << r.c->baseline
           << "`) | | measured by the benchmark in the same run | " << ratio
           << " | " << target_text(*r.c) << (r.met ? "" : " (not met)")
           << " |\n";
        continue;
      }
      md << "| " << r.c->workload << " | " << r.c->note << " (`" << r.c->subject
         << "`) | " << human(r.subject, r.c->metric) << " | "
         << human(r.baseline, r.c->metric) << " (`" << r.c->baseline << "`) | "
         << ratio << " | " << target_text(*r.c) << (r.met ? "" : " (not met)")
         << " |\n";
    }
    if (!python_table.empty()) {
      md << "\nPython bindings (python/bench.py):\n\n" << python_table;
    }
    if (!md) {
      std::fprintf(stderr, "atomik bench: cannot write %s\n", markdown.c_str());
      return 1;
    }
    std::fprintf(stderr, "wrote %s\n", markdown.c_str());
  }
  if (!plot.empty()) {
    std::vector<Bar> bars = bars_of(rows);
    bars.insert(bars.end(), py_bars.begin(), py_bars.end());
    if (!write_plot(plot, bars)) return 1;
  }
  std::fflush(stdout);  // the table before the verdict, even in one pipe
  std::fprintf(stderr,
               "%zu figures, %d missing, %d failed, %d below target%s\n",
               rows.size(), missing, failed, below,
               quick ? " (--quick: targets not enforced)" : "");
  const bool ok = missing == 0 && failed == 0 && (quick || below == 0);
  return ok ? 0 : 1;
}

}  // namespace

void add_bench_command(CLI::App& app, int* exit_code) {
  struct Options {
    std::string dir, only, markdown, plot, min_time = "0.2";
    bool quick = false;
  };
  static Options o;  // CLI11 binds options to storage that outlives parsing
  CLI::App* cmd = app.add_subcommand(
      "bench", "Run every benchmark workload and compare with its baseline");
  cmd->add_option("--bench-dir", o.dir,
                  "Directory of the benchmark binaries (default: ../bench "
                  "beside this executable, else the installed "
                  "<libexecdir>/atomik)");
  cmd->add_option("--workload", o.only, "Run only this workload (e.g. fan-in)");
  cmd->add_option("--markdown", o.markdown, "Write a Markdown table to FILE");
  cmd->add_option("--plot", o.plot,
                  "Write a PNG bar chart of the ratios to FILE");
  cmd->add_option("--min-time", o.min_time,
                  "Google Benchmark --benchmark_min_time per benchmark")
      ->capture_default_str();
  cmd->add_flag("--quick", o.quick,
                "Smoke run: --min-time 0.01, a short Python benchmark; "
                "targets are shown but do not change the exit status");
  cmd->callback([exit_code] {
    const std::string min_time = o.quick ? "0.01" : o.min_time;
    *exit_code =
        run_bench(o.dir, o.only, o.markdown, o.plot, min_time, o.quick);
  });
}

}  // namespace atomik::cli
