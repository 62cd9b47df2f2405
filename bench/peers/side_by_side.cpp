// side_by_side: pms versus ONNX Runtime on the same weights, the same image, in one process.
//
//   side_by_side [--models DIR] [--sets tiny_random_k150,base_random_k150] [--threads 1,2]
//                [--rounds 15] [--warmup 3] [--rss-runs 3] [--no-rss] [--fixed-order] [--ort-lib PATH]
//
// DIR holds NAME.pms, NAME.body.onnx and NAME.labels.onnx per weights set (made by
// bench/peers/export_onnx.py; bench/peers/run.sh does everything). A set named ..._int8 or
// ..._int8_allconvs runs MobileSeg<V, Int8> against ORT's static QDQ int8 model
// (bench/peers/quantize_qdq.py: the pointwise convs, or every conv, in int8); the others
// fp32. For each set and thread count it times, alternately A B A B ... after warm-up:
//   body       pms logits()                      vs  ORT body model   (image -> low-res logits)
//   to labels  pms segment() VIM, pms exact      vs  ORT labels model (image -> int32 labels,
//              (int32 labels, like ORT's)            all K classes upsampled, argmax)
// pms takes the 8-bit RGB image and normalises it inside its timing; ORT takes the float
// image normalised beforehand (outside its timing). Outputs are compared once (agreement).
// Peak memory: each engine's job runs again in a fresh child process (this program re-executed
// with --job ...; ONNX Runtime is dlopen()ed only by the processes that use it), which reports
// its VmHWM, its load time and its first run's time. Machine load: /proc/loadavg before and
// after, and the CPU time other processes used while each pair was timed (/proc/stat minus
// this process).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <pms/core/page_buffer.hpp>
#include <pms/core/thread_pool.hpp>
#include <pms/mobileseg.hpp>

#include "ort_model.hpp"

namespace {

using pms_peers::die;
using pms_peers::g_ort_lib;
using pms_peers::g_ort_version;
using pms_peers::normalise;
using pms_peers::ort_init;
using pms_peers::OrtModel;

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? 0.0 : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

// ---------------------------------------------------------------------------------------
// Memory and machine load
// ---------------------------------------------------------------------------------------

// pms's weights and workspace live in PageBuffers (huge pages where the system allows), as
// the README recommends; ONNX Runtime allocates its own.
pms::PageBuffer read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) die("cannot open " + path);
  const auto n = static_cast<std::size_t>(f.tellg());
  pms::PageBuffer buf(n);
  if (!buf.allocated()) die("out of memory");
  f.seekg(0);
  if (!f.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(n))) die("cannot read " + path);
  return buf;
}

long status_kb(const char* key) {  // VmHWM, VmRSS of this process, in KiB
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(key);
  while (std::getline(f, line))
    if (line.compare(0, n, key) == 0 && line.size() > n && line[n] == ':') return std::atol(line.c_str() + n + 1);
  return -1;
}

std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c, d;
  f >> a >> b >> c >> d;
  return a + " " + b + " " + c + " (running/total " + d + ")";
}

struct CpuSample {
  long long busy = 0, steal = 0, total = 0, own = 0;  // clock ticks
};

CpuSample cpu_sample() {
  CpuSample s;
  {
    std::ifstream f("/proc/stat");
    std::string cpu;
    long long v[10] = {};
    f >> cpu;
    for (long long& x : v) f >> x;
    // user nice system idle iowait irq softirq steal guest guest_nice
    s.busy = v[0] + v[1] + v[2] + v[5] + v[6];
    s.steal = v[7];
    s.total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
  }
  {
    std::ifstream f("/proc/self/stat");
    std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::istringstream rest(all.substr(all.rfind(')') + 2));
    std::string field;
    long long utime = 0, stime = 0;
    for (int i = 3; i <= 15; ++i) {  // fields 3.. after "pid (comm)"
      rest >> field;
      if (i == 14) utime = std::atoll(field.c_str());
      if (i == 15) stime = std::atoll(field.c_str());
    }
    s.own = utime + stime;
  }
  return s;
}

// Cores' worth of CPU other processes used between two samples (and hypervisor steal).
struct OtherLoad {
  double other_cores = 0, steal_cores = 0;
};

OtherLoad other_load(const CpuSample& a, const CpuSample& b) {
  const double ticks = static_cast<double>(b.total - a.total);
  const long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (ticks <= 0) return {};
  const double other = static_cast<double>((b.busy - a.busy) - (b.own - a.own));
  return {std::max(0.0, other) / ticks * static_cast<double>(ncpu),
          static_cast<double>(b.steal - a.steal) / ticks * static_cast<double>(ncpu)};
}

// ---------------------------------------------------------------------------------------
// The test image: deterministic, smooth regions plus texture (not a constant)
// ---------------------------------------------------------------------------------------

std::vector<std::uint8_t> test_image(int h, int w) {
  std::vector<std::uint8_t> img(static_cast<std::size_t>(h) * w * 3);
  std::uint32_t state = 12345;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      state = state * 1664525u + 1013904223u;
      const int noise = static_cast<int>((state >> 24) % 32) - 16;
      const double fy = static_cast<double>(y) / h, fx = static_cast<double>(x) / w;
      const double base[3] = {128 + 100 * std::sin(6.0 * fx + 2.0 * fy), 128 + 90 * std::cos(5.0 * fy - 3.0 * fx),
                              ((x / 64 + y / 48) % 3) * 90.0 + 20};
      for (int c = 0; c < 3; ++c)
        img[(static_cast<std::size_t>(y) * w + x) * 3 + c] =
            static_cast<std::uint8_t>(std::clamp(static_cast<int>(base[c]) + noise, 0, 255));
    }
  return img;
}

// ---------------------------------------------------------------------------------------
// pms, either variant behind one interface
// ---------------------------------------------------------------------------------------

enum class Job { body, vim, exact };
const char* job_name(Job j) { return j == Job::body ? "body" : j == Job::vim ? "VIM" : "exact"; }

struct PmsRunner {
  virtual ~PmsRunner() = default;
  virtual void run(Job job) = 0;
  virtual const std::vector<std::int32_t>& labels() const = 0;
  virtual float logit(int c, int y, int x) const = 0;  // of the last body run
  virtual const pms::Normalization& normalization() const = 0;
};

template <class V, class P>
struct PmsModel final : PmsRunner {
  pms::PageBuffer file;
  pms::MobileSeg<V, P> model;
  pms::PageBuffer workspace;
  std::unique_ptr<pms::ThreadPool> pool;
  const std::vector<std::uint8_t>* image;
  int h, w;
  std::vector<std::int32_t> out;
  pms::SegmentInfo info;

  PmsModel(const std::string& path, int threads, const std::vector<std::uint8_t>& img, int height, int width)
      : image(&img), h(height), w(width) {
    file = read_file(path);
    if (const pms::Status s = model.load(file.span()); s != pms::Status::ok)
      die(path + ": " + pms::describe(s) + " " + model.failed_tensor());
    workspace = pms::PageBuffer(model.workspace_size(h, w, threads));
    if (!workspace.allocated()) die("out of memory");
    if (threads > 1) pool = std::make_unique<pms::ThreadPool>(threads);
    out.resize(static_cast<std::size_t>(h) * w);
  }

  void run(Job job) override {
    const pms::ImageView view{image->data(), h, w, static_cast<std::ptrdiff_t>(w) * 3, pms::PixelFormat::rgb};
    const pms::LabelMap<std::int32_t> labels{out.data(), h, w, w};
    const pms::SegmentOptions opt{job == Job::vim ? pms::Upsampling::vim : pms::Upsampling::exact};
    pms::Status s;
    if (job == Job::body)
      s = pool ? model.logits(view, workspace.span(), *pool, info) : model.logits(view, workspace.span(), info);
    else
      s = pool ? model.segment(view, workspace.span(), labels, *pool, opt, &info)
               : model.segment(view, workspace.span(), labels, opt, &info);
    if (s != pms::Status::ok) die(std::string("pms: ") + pms::describe(s));
  }
  const std::vector<std::int32_t>& labels() const override { return out; }
  float logit(int c, int y, int x) const override { return info.logits.pixel(y, x)[c]; }
  const pms::Normalization& normalization() const override { return model.normalization(); }
};

bool is_int8(const std::string& set) { return set.find("_int8") != std::string::npos; }  // _int8, _int8_allconvs

// The set's name says the variant (tiny... or base...) and the precision (..._int8 or fp32).
std::unique_ptr<PmsRunner> make_pms(const std::string& set, const std::string& path, int threads,
                                    const std::vector<std::uint8_t>& img, int h, int w) {
  const bool tiny = set.starts_with("tiny");
  if (!tiny && !set.starts_with("base")) die("weights set " + set + ": name must start with tiny or base");
  if (is_int8(set))
    return tiny ? std::unique_ptr<PmsRunner>(std::make_unique<PmsModel<pms::Tiny, pms::Int8>>(path, threads, img, h, w))
                : std::make_unique<PmsModel<pms::Base, pms::Int8>>(path, threads, img, h, w);
  return tiny ? std::unique_ptr<PmsRunner>(std::make_unique<PmsModel<pms::Tiny, pms::Fp32>>(path, threads, img, h, w))
              : std::make_unique<PmsModel<pms::Base, pms::Fp32>>(path, threads, img, h, w);
}

// ---------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------

struct Options {
  std::string models = ".deps/peers";
  std::vector<std::string> sets{"tiny_random_k150", "base_random_k150"};
  std::vector<int> threads{1, 2};
  int rounds = 15, warmup = 3, rss_runs = 5;
  int height = 512, width = 512;
  bool rss = true;
  bool rotate = true;  // false: always A B (C) in that order
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string self_exe;

// ---------------------------------------------------------------------------------------
// Child job: one engine's job in a fresh process; prints "load_ms first_ms later_median_ms hwm_start_kb hwm_load_kb hwm_kb"
// ---------------------------------------------------------------------------------------

int child_job(const Options& o, const std::string& engine, const std::string& set, Job job, int threads) {
  const long hwm_start = status_kb("VmHWM");
  const auto img = test_image(o.height, o.width);
  double load_ms = 0, first_ms = 0;
  long hwm_load = 0;
  std::vector<double> later;  // runs 2..N: the steady state in this same process
  if (engine == "pms") {
    const auto t0 = Clock::now();
    auto m = make_pms(set, o.models + "/" + set + ".pms", threads, img, o.height, o.width);
    load_ms = ms_since(t0);
    hwm_load = status_kb("VmHWM");
    for (int i = 0; i < o.rss_runs; ++i) {
      const auto t = Clock::now();
      m->run(job);
      (i == 0 ? first_ms : later.emplace_back()) = ms_since(t);
    }
  } else {
    const pms::Normalization norm;
    auto x = normalise(img, o.height, o.width, norm);
    const auto t0 = Clock::now();
    OrtModel m(o.models + "/" + set + (job == Job::body ? ".body.onnx" : ".labels.onnx"), threads);
    load_ms = ms_since(t0);
    hwm_load = status_kb("VmHWM");
    for (int i = 0; i < o.rss_runs; ++i) {
      const auto t = Clock::now();
      m.run(x);
      (i == 0 ? first_ms : later.emplace_back()) = ms_since(t);
    }
  }
  std::printf("%.3f %.3f %.3f %ld %ld %ld\n", load_ms, first_ms, median(later), hwm_start, hwm_load, status_kb("VmHWM"));
  return 0;
}

struct ChildResult {
  bool ok = false;
  double load_ms = 0, first_ms = 0, steady_ms = 0;
  long hwm_start = 0, hwm_load = 0, hwm = 0;
};

ChildResult run_child(const Options& o, const std::string& engine, const std::string& set, Job job, int threads) {
  int fd[2];
  if (pipe(fd) != 0) die("pipe");
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    dup2(fd[1], 1);
    close(fd[0]);
    close(fd[1]);
    const std::string t = std::to_string(threads), runs = std::to_string(o.rss_runs), hw = std::to_string(o.height),
                      ww = std::to_string(o.width);
    execl(self_exe.c_str(), self_exe.c_str(), "--models", o.models.c_str(), "--ort-lib", g_ort_lib.c_str(), "--rss-runs",
          runs.c_str(), "--size", hw.c_str(), ww.c_str(), "--job", engine.c_str(), set.c_str(), job_name(job), t.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fd[1]);
  std::string text;
  char buf[256];
  ssize_t n;
  while ((n = read(fd[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  close(fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ChildResult r;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
      std::sscanf(text.c_str(), "%lf %lf %lf %ld %ld %ld", &r.load_ms, &r.first_ms, &r.steady_ms, &r.hwm_start, &r.hwm_load, &r.hwm) == 6)
    r.ok = true;
  return r;
}

// ---------------------------------------------------------------------------------------
// The side-by-side timing
// ---------------------------------------------------------------------------------------

struct Row {
  std::string set;
  int threads;
  std::string job;  // "body" or "to labels"
  std::vector<std::string> names;  // engines, ORT last
  std::vector<double> med, min;
  OtherLoad load;
  std::string check;
};

// Runs the engines alternately: warm-up rounds, then `rounds` rounds of one run each.
Row alternate(const Options& o, std::vector<std::pair<std::string, std::function<void()>>> engines) {
  Row row;
  for (int i = 0; i < o.warmup; ++i)
    for (auto& e : engines) e.second();
  std::vector<std::vector<double>> t(engines.size());
  const CpuSample a = cpu_sample();
  for (int r = 0; r < o.rounds; ++r)
    for (std::size_t i = 0; i < engines.size(); ++i) {
      // rotate: round r starts with engine r mod n, so each engine follows each other one
      const std::size_t e = o.rotate ? (i + static_cast<std::size_t>(r)) % engines.size() : i;
      const auto t0 = Clock::now();
      engines[e].second();
      t[e].push_back(ms_since(t0));
    }
  row.load = other_load(a, cpu_sample());
  for (std::size_t e = 0; e < engines.size(); ++e) {
    row.names.push_back(engines[e].first);
    row.med.push_back(median(t[e]));
    row.min.push_back(*std::min_element(t[e].begin(), t[e].end()));
  }
  return row;
}

struct Target {
  double body, vim, exact;
};
// The fp32 targets; at int8 (against ORT's QDQ model) only the body's, 0.7.
Target target_for(const std::string& set) {
  if (is_int8(set)) return Target{0.7, 0, 0};
  return set.starts_with("tiny") ? Target{0.75, 0.2, 0.5} : Target{0.8, 0.3, 0.5};
}

int main_bench(const Options& o) {
  ort_init();
  std::printf("side_by_side: pms vs ONNX Runtime (%s), %dx%d, %d warm-up + %d alternating rounds, medians\n",
              g_ort_version.c_str(), o.height, o.width, o.warmup, o.rounds);
  const std::string load_before = loadavg();
  const CpuSample all0 = cpu_sample();
  const auto wall0 = Clock::now();
  std::printf("load average before: %s\n\n", load_before.c_str());
  const auto img = test_image(o.height, o.width);
  std::vector<Row> rows;

  for (const std::string& set : o.sets) {
    for (int threads : o.threads) {
      auto pms_model = make_pms(set, o.models + "/" + set + ".pms", threads, img, o.height, o.width);
      auto x = normalise(img, o.height, o.width, pms_model->normalization());
      OrtModel body(o.models + "/" + set + ".body.onnx", threads);
      OrtModel labels(o.models + "/" + set + ".labels.onnx", threads);

      // Agreement (once, before timing).
      pms_model->run(Job::body);
      body.run(x);
      const int k = static_cast<int>(body.out_shape[1]), lh = static_cast<int>(body.out_shape[2]),
                lw = static_cast<int>(body.out_shape[3]);
      double max_diff = 0, max_abs = 0;
      for (int c = 0; c < k; ++c)
        for (int y = 0; y < lh; ++y)
          for (int xx = 0; xx < lw; ++xx) {
            const float want = body.out_f[(static_cast<std::size_t>(c) * lh + y) * lw + xx];
            max_diff = std::max(max_diff, static_cast<double>(std::fabs(pms_model->logit(c, y, xx) - want)));
            max_abs = std::max(max_abs, static_cast<double>(std::fabs(want)));
          }
      labels.run(x);
      auto agree = [&](Job j) {
        pms_model->run(j);
        std::size_t same = 0;
        for (std::size_t i = 0; i < labels.out_i.size(); ++i) same += pms_model->labels()[i] == labels.out_i[i];
        return 100.0 * static_cast<double>(same) / static_cast<double>(labels.out_i.size());
      };
      const double agree_vim = agree(Job::vim), agree_exact = agree(Job::exact);
      char check[200];

      Row b = alternate(o, {{"pms", [&] { pms_model->run(Job::body); }}, {"ORT", [&] { body.run(x); }}});
      b.set = set, b.threads = threads, b.job = "body";
      std::snprintf(check, sizeof check, "max |logit diff| %.1e (max |logit| %.1f)", max_diff, max_abs);
      b.check = check;
      rows.push_back(b);
      std::printf("%-18s %d thr  body       pms %8.2f ms  ORT %8.2f ms  pms/ORT %.3f   others %.2f cores  [%s]\n", set.c_str(),
                  threads, b.med[0], b.med[1], b.med[0] / b.med[1], b.load.other_cores, b.check.c_str());
      std::fflush(stdout);

      Row l = alternate(o, {{"pms VIM", [&] { pms_model->run(Job::vim); }},
                            {"pms exact", [&] { pms_model->run(Job::exact); }},
                            {"ORT", [&] { labels.run(x); }}});
      l.set = set, l.threads = threads, l.job = "to labels";
      std::snprintf(check, sizeof check, "labels = ORT's at %.3f %% (VIM), %.3f %% (exact)", agree_vim, agree_exact);
      l.check = check;
      rows.push_back(l);
      std::printf("%-18s %d thr  to labels  pms VIM %8.2f ms  pms exact %8.2f ms  ORT %8.2f ms  VIM/ORT %.3f  exact/ORT %.3f   others %.2f cores  [%s]\n",
                  set.c_str(), threads, l.med[0], l.med[1], l.med[2], l.med[0] / l.med[2], l.med[1] / l.med[2],
                  l.load.other_cores, l.check.c_str());
      std::fflush(stdout);
    }
  }

  // Peak memory and first runs, each job in a fresh process.
  struct MemRow {
    std::string set;
    int threads;
    std::string job;
    ChildResult pms, pms2, ort;  // pms2: exact when job is to labels (pms = VIM)
  };
  std::vector<MemRow> mem;
  if (o.rss) {
    for (const std::string& set : o.sets)
      for (int threads : o.threads) {
        MemRow b{set, threads, "body", run_child(o, "pms", set, Job::body, threads), {}, run_child(o, "ort", set, Job::body, threads)};
        MemRow l{set, threads, "to labels", run_child(o, "pms", set, Job::vim, threads), run_child(o, "pms", set, Job::exact, threads),
                 run_child(o, "ort", set, Job::vim, threads)};
        mem.push_back(b);
        mem.push_back(l);
      }
  }

  const OtherLoad all = other_load(all0, cpu_sample());
  const double wall_s = ms_since(wall0) / 1000.0;

  // Tables (Markdown).
  std::printf("\n### Time (median of %d alternating rounds; ratio = pms / ORT; target in brackets)\n\n", o.rounds);
  std::printf("| model | threads | job | pms | ORT | pms / ORT [target] | other processes | check |\n");
  std::printf("| --- | ---: | --- | ---: | ---: | ---: | ---: | --- |\n");
  for (const Row& r : rows) {
    const Target t = target_for(r.set);
    const double ort = r.med.back();
    for (std::size_t e = 0; e + 1 < r.names.size(); ++e) {
      const bool body = r.job == "body";
      const double target = body ? (r.threads == 1 ? t.body : 0) : (r.names[e] == "pms VIM" ? t.vim : t.exact);
      char tgt[32] = "";
      if (target > 0) std::snprintf(tgt, sizeof tgt, " [%.2f]%s", target, r.med[e] / ort <= target ? "" : " MISS");
      std::printf("| %s | %d | %s%s | %.2f ms | %.2f ms | %.3f%s | %.2f cores | %s |\n", r.set.c_str(), r.threads, r.job.c_str(),
                  body ? "" : (e == 0 ? " (VIM)" : " (exact)"), r.med[e], ort, r.med[e] / ort, tgt, r.load.other_cores,
                  e == 0 ? r.check.c_str() : "");
    }
  }
  if (o.rss) {
    std::printf("\n### Peak memory (VmHWM of a fresh process running only that job, %d runs) and its first run\n\n", o.rss_runs);
    std::printf("| model | threads | job | engine | peak RSS | RSS after load | load | first run | later runs (median) | first / later |\n");
    std::printf("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (const MemRow& m : mem) {
      auto line = [&](const char* name, const ChildResult& c) {
        if (!c.ok) {
          std::printf("| %s | %d | %s | %s | failed | | | | | |\n", m.set.c_str(), m.threads, m.job.c_str(), name);
          return;
        }
        std::printf("| %s | %d | %s | %s | %.1f MiB | %.1f MiB | %.1f ms | %.2f ms | %.2f ms | %.2f |\n", m.set.c_str(), m.threads,
                    m.job.c_str(), name, c.hwm / 1024.0, c.hwm_load / 1024.0, c.load_ms, c.first_ms, c.steady_ms, c.first_ms / c.steady_ms);
      };
      if (m.job == "body") {
        line("pms", m.pms);
        line("ORT", m.ort);
      } else {
        line("pms VIM", m.pms);
        line("pms exact", m.pms2);
        line("ORT", m.ort);
      }
      if (m.ort.ok && m.pms.ok) {
        if (m.job == "body")
          std::printf("| | | | pms / ORT | %.3f | | | | | |\n", static_cast<double>(m.pms.hwm) / m.ort.hwm);
        else
          std::printf("| | | | pms / ORT | %.3f (VIM), %.3f (exact) [0.50] | | | | | |\n", static_cast<double>(m.pms.hwm) / m.ort.hwm,
                      m.pms2.ok ? static_cast<double>(m.pms2.hwm) / m.ort.hwm : 0.0);
      }
    }
    if (!mem.empty() && mem[0].pms.ok)
      std::printf("\n(a bare process of this program: %.1f MiB before loading anything)\n", mem[0].pms.hwm_start / 1024.0);
  }
  std::printf("\nMachine: %ld CPUs online; load average before: %s; after: %s\n", sysconf(_SC_NPROCESSORS_ONLN),
              load_before.c_str(), loadavg().c_str());
  std::printf("Other processes used %.2f cores on average over the %.0f s run (hypervisor steal %.2f cores).\n",
              all.other_cores, wall_s, all.steal_cores);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  pms_peers::g_program_name = "side_by_side";
  Options o;
  self_exe = "/proc/self/exe";
  {
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) self_exe.assign(buf, static_cast<std::size_t>(n));
  }
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--models") o.models = next();
    else if (a == "--sets") o.sets = split(next());
    else if (a == "--threads") {
      o.threads.clear();
      for (const auto& t : split(next())) o.threads.push_back(std::max(1, std::atoi(t.c_str())));
    } else if (a == "--rounds") o.rounds = std::max(1, std::atoi(next().c_str()));
    else if (a == "--warmup") o.warmup = std::max(0, std::atoi(next().c_str()));
    else if (a == "--rss-runs") o.rss_runs = std::max(2, std::atoi(next().c_str()));
    else if (a == "--no-rss") o.rss = false;
    else if (a == "--fixed-order") o.rotate = false;
    else if (a == "--ort-lib") g_ort_lib = next();
    else if (a == "--size") {
      o.height = std::atoi(next().c_str());
      o.width = std::atoi(next().c_str());
    } else if (a == "--job") {
      if (i + 4 >= argc) die("--job ENGINE SET JOB THREADS");
      const std::string engine = argv[i + 1], set = argv[i + 2], job = argv[i + 3];
      const int threads = std::atoi(argv[i + 4]);
      try {
        return child_job(o, engine, set, job == "body" ? Job::body : job == "VIM" ? Job::vim : Job::exact, threads);
      } catch (const std::exception& e) {
        die(e.what());
      }
    } else if (a == "-h" || a == "--help") {
      std::printf("usage: side_by_side [--models DIR] [--sets A,B] [--threads 1,2] [--rounds N] [--warmup N] "
                  "[--rss-runs N] [--no-rss] [--fixed-order] [--ort-lib PATH] [--size H W]\n");
      return 0;
    } else die("unknown argument " + a);
  }
  try {
    return main_bench(o);
  } catch (const std::exception& e) {
    die(e.what());
  }
}
