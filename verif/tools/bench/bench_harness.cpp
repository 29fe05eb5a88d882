// bench_harness.cpp: a bare Verilator C++ testbench for the `redmule` top, with
// no Python at all: the baseline that `python -m redmule_verif.bench_sim`
// compares the cocotb/pyuvm environment against (same RTL, same job).
//
// Build it through the project's build layer:
//   build(SimConfig.make(["rtl/redmule.f"], "redmule", parameters=...,
//                        harness_cpp="verif/bench_harness.cpp"))
// Run:
//   Vtop M N K OP FMT PROFILE P SEED [--data DIR] [--x-base A] [--w-base A]
//        [--z-base A] [--core C] [--mem-base A] [--mem-words N] [--on N]
//        [--off N] [--core-rate F] [--n-banks N] [--n-cores N] [--max-stall N]
//        [--max-cycles N]
//   OP: MATMUL GEMM ADDMAX ADDMIN MULMAX MULMIN MAXMIN MINMAX or 0..7
//   FMT: FP8 FP16 FP8ALT or 0..2; PROFILE: always random bursty banks
// It prints one JSON line: cycles (TRIGGER response to event, spec section 7),
// wall seconds of that window and of the whole run, TCDM accesses, and the Z
// check against DIR/z_ref.bin when --data is given (DIR/x.bin, w.bin and, for
// ops that read Y, y.bin hold the input matrices as raw little-endian bits;
// redmule_verif.bench_sim writes them from the job's data and ref.gemm_op).
// Without --data the inputs are random finite values (nothing to check).
//
// What it does, cycle by cycle (like verif/redmule_harness.sv, so that both
// serve the DUT the same way):
//   * clock: one eval at the rising edge, one at the falling edge;
//   * TCDM: after the rising-edge eval the DUT's request has settled; the
//     grant of the cycle is decided from it (profiles below) and driven with
//     the load response of the previous cycle's granted load (r_valid one
//     cycle after the grant, spec section 2); at the next rising edge a granted
//     load reads the memory array, a granted store writes it (byte enables);
//   * grant profiles: the same xorshift32 streams, reseed rule and decision
//     functions as the SV harness (always; random with probability p; bursty
//     on/off as a two-state chain; bank contention from n_cores cluster cores
//     on n_banks word-interleaved banks; optional max stall);
//   * register port: the job is programmed as software does it, one access a
//     cycle with the response one cycle later: read ACQUIRE until it returns a
//     job id, write the six job registers, write 0 to TRIGGER, wait for the
//     core's event.
//
// Compiled with -DBENCH_SV_HARNESS (bench_sim's decomposition run) the top is
// instead verif/redmule_harness.sv, the env's SV harness, which serves the
// TCDM port itself (memory, grant profiles, protocol checker, trace file with
// +tcdm_log=PATH): the same C++ loop then measures the env's simulator
// without cocotb and VPI. The harness's memory array is loaded and read back
// through Verilator's model root (rootp, no public signals needed), so the
// job computes on the same data and Z is checked as in the bare variant.

#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <ctime>
#include <vector>

#include "Vtop.h"
#include "verilated.h"
#ifdef BENCH_SV_HARNESS
#include "Vtop___024root.h"
#endif

#ifdef BENCH_SV_HARNESS
#define HARNESS_KIND "sv"  // the env's redmule_harness.sv serves the TCDM port
#else
#define HARNESS_KIND "cpp"  // this file serves the TCDM port
#endif

namespace {

// ---------------------------------------------------------------- wide-port access
// The TCDM data ports are VlWide<NW> for DW > 64 (every default instance),
// QData for very small instances; these overloads hide the difference.
template <std::size_t N>
inline uint32_t word_of(const VlWide<N>& v, int i) { return v[i]; }
template <std::size_t N>
inline void set_word(VlWide<N>& v, int i, uint32_t x) { v[i] = x; }
template <std::size_t N>
constexpr int words_of(const VlWide<N>*) { return static_cast<int>(N); }
inline uint32_t word_of(QData v, int i) { return static_cast<uint32_t>(v >> (32 * i)); }
inline void set_word(QData& v, int i, uint32_t x) {
    v = (v & ~(0xFFFFFFFFull << (32 * i))) | (static_cast<QData>(x) << (32 * i));
}
inline uint32_t word_of(IData v, int) { return v; }
inline void set_word(IData& v, int, uint32_t x) { v = x; }

template <typename T>
inline bool be_bit(const T& be, int b) {  // byte enables: QData (<= 64 bytes... DW <= 512) or wide
    return (be >> b) & 1;
}
template <std::size_t N>
inline bool be_bit(const VlWide<N>& be, int b) { return (be[b >> 5] >> (b & 31)) & 1; }

double cpu_seconds() {  // CPU time of this process (robust to other jobs sharing the cores)
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

inline uint32_t xs32(uint32_t x) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

// ---------------------------------------------------------------- options
struct Options {
    unsigned m = 12, n = 16, k = 16;
    unsigned op = 1, fmt = 1;
    int mode = 0;  // 0 always, 1 random, 2 bursty, 3 banks
    double p = 0.5;
    uint32_t seed = 1;
    std::string data;
    uint32_t mem_base = 0x10000000u, mem_words = 32768;
    int64_t x_base = -1, w_base = -1, z_base = -1;
    unsigned core = 0;
    unsigned on = 16, off = 4, n_banks = 16, n_cores = 8;
    double core_rate = 0.25;
    uint32_t max_stall = 0;
    uint64_t max_cycles = 0;  // 0: 50x the stall-free estimate plus slack
};

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "bench_harness: %s\n", msg.c_str());
    std::printf("{\"status\": \"error\", \"message\": \"%s\"}\n", msg.c_str());
    std::exit(2);
}

unsigned parse_code(const std::string& s, const char* const names[], unsigned count, const char* what) {
    for (unsigned i = 0; i < count; i++)
        if (s == names[i]) return i;
    char* end = nullptr;
    unsigned long v = std::strtoul(s.c_str(), &end, 0);
    if (end && *end == 0 && !s.empty() && v < count) return static_cast<unsigned>(v);
    die(std::string("unknown ") + what + " '" + s + "'");
}

const char* const OP_NAMES[] = {"MATMUL", "GEMM", "ADDMAX", "ADDMIN", "MULMAX", "MULMIN", "MAXMIN", "MINMAX"};
const char* const FMT_NAMES[] = {"FP8", "FP16", "FP8ALT"};
const char* const MODE_NAMES[] = {"always", "random", "bursty", "banks"};

Options parse_args(int argc, char** argv) {
    std::vector<std::string> pos;
    Options o;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a.rfind("+", 0) == 0) continue;  // plusargs: Verilated::commandArgs has them
        if (a.rfind("--", 0) == 0) {
            if (i + 1 >= argc) die("option " + a + " needs a value");
            std::string v = argv[++i];
            auto u = [&]() { return static_cast<uint64_t>(std::strtoull(v.c_str(), nullptr, 0)); };
            if (a == "--data") o.data = v;
            else if (a == "--x-base") o.x_base = static_cast<int64_t>(u());
            else if (a == "--w-base") o.w_base = static_cast<int64_t>(u());
            else if (a == "--z-base") o.z_base = static_cast<int64_t>(u());
            else if (a == "--core") o.core = static_cast<unsigned>(u());
            else if (a == "--mem-base") o.mem_base = static_cast<uint32_t>(u());
            else if (a == "--mem-words") o.mem_words = static_cast<uint32_t>(u());
            else if (a == "--on") o.on = static_cast<unsigned>(u());
            else if (a == "--off") o.off = static_cast<unsigned>(u());
            else if (a == "--core-rate") o.core_rate = std::strtod(v.c_str(), nullptr);
            else if (a == "--n-banks") o.n_banks = static_cast<unsigned>(u());
            else if (a == "--n-cores") o.n_cores = static_cast<unsigned>(u());
            else if (a == "--max-stall") o.max_stall = static_cast<uint32_t>(u());
            else if (a == "--max-cycles") o.max_cycles = u();
            else die("unknown option " + a);
        } else {
            pos.push_back(a);
        }
    }
    if (pos.size() != 8) die("usage: Vtop M N K OP FMT PROFILE P SEED [--data DIR] [options]");
    o.m = static_cast<unsigned>(std::strtoul(pos[0].c_str(), nullptr, 0));
    o.n = static_cast<unsigned>(std::strtoul(pos[1].c_str(), nullptr, 0));
    o.k = static_cast<unsigned>(std::strtoul(pos[2].c_str(), nullptr, 0));
    o.op = parse_code(pos[3], OP_NAMES, 8, "GEMM-op");
    o.fmt = parse_code(pos[4], FMT_NAMES, 3, "format");
    o.mode = static_cast<int>(parse_code(pos[5], MODE_NAMES, 4, "grant profile"));
    o.p = std::strtod(pos[6].c_str(), nullptr);
    o.seed = static_cast<uint32_t>(std::strtoul(pos[7].c_str(), nullptr, 0));
    if (o.m == 0 || o.n == 0 || o.k == 0 || o.m > 65535 || o.n > 65535 || o.k > 65535)
        die("M, N, K must be in 1..65535");
    if (o.core > 7) die("--core must be 0..7");
    if (o.n_banks < 1 || o.n_banks > 32) die("--n-banks must be 1..32");
    if (o.n_cores > 8) die("--n-cores must be 0..8");
    return o;
}

// ---------------------------------------------------------------- memory
struct Memory {
    uint32_t base;
    std::vector<uint32_t> words;
    bool in_range(uint32_t idx) const { return idx < words.size(); }
    uint8_t byte(uint32_t addr) const {
        uint32_t idx = (addr - base) >> 2;
        return in_range(idx) ? static_cast<uint8_t>(words[idx] >> (8 * (addr & 3))) : 0;
    }
    void set_byte(uint32_t addr, uint8_t v) {
        uint32_t idx = (addr - base) >> 2;
        if (!in_range(idx)) die("matrix outside the memory window");
        uint32_t sh = 8 * (addr & 3);
        words[idx] = (words[idx] & ~(0xFFu << sh)) | (static_cast<uint32_t>(v) << sh);
    }
};

std::vector<uint8_t> read_file(const std::string& path, size_t want) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) die("cannot open " + path);
    std::vector<uint8_t> buf(want);
    size_t got = std::fread(buf.data(), 1, want, f);
    std::fclose(f);
    if (got != want) die(path + ": expected " + std::to_string(want) + " bytes, got " + std::to_string(got));
    return buf;
}

// random finite values of moderate magnitude (no overflow over K = 65535 steps of small sums)
uint16_t random_elem(uint32_t& s, unsigned fmt) {
    s = xs32(s);
    uint32_t r = s;
    if (fmt == 1) {  // FP16: exponent 13..16 (0.25 .. 4)
        return static_cast<uint16_t>(((r & 1) << 15) | ((13 + ((r >> 1) & 3)) << 10) | ((r >> 3) & 0x3FF));
    }
    if (fmt == 0) {  // FP8 E5M2, bias 15
        return static_cast<uint16_t>(((r & 1) << 7) | ((13 + ((r >> 1) & 3)) << 2) | ((r >> 3) & 3));
    }
    // FP8ALT E4M3, bias 7
    return static_cast<uint16_t>(((r & 1) << 7) | ((6 + ((r >> 1) % 3)) << 3) | ((r >> 3) & 7));
}

// ---------------------------------------------------------------- grant generator (as redmule_harness.sv)
struct Grant {
    int mode = 0;
    uint16_t p16 = 0xFFFF, on = 16, off = 4, core_rate16 = 0;
    unsigned n_banks = 16, n_cores = 8;
    uint32_t max_stall = 0;
    uint32_t rnd = 0x12345678u, rnd2 = 1, core_rnd[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    bool burst_on = true;
    uint32_t stall = 0;
    bool reseed_pending = false;
    uint32_t seed = 1;

    // the harness's posedge update; `req`/`gnt` are the handshake signals of the cycle that ends
    void clock(bool req, bool gnt) {
        if (reseed_pending) {
            rnd = seed == 0 ? 0x12345678u : seed;
            rnd2 = xs32(seed ^ 0x9E3779B9u);
            for (unsigned c = 0; c < 8; c++) core_rnd[c] = xs32(seed + 0x7F4A7C15u * (c + 1));
            burst_on = true;
            reseed_pending = false;
        } else {
            uint16_t r2 = static_cast<uint16_t>(rnd2);
            if (burst_on) {
                if (on <= 1 || r2 < static_cast<uint16_t>(65536u / on)) burst_on = false;
            } else {
                if (off <= 1 || r2 < static_cast<uint16_t>(65536u / off)) burst_on = true;
            }
            rnd = xs32(rnd);
            rnd2 = xs32(rnd2);
            for (unsigned c = 0; c < 8; c++) core_rnd[c] = xs32(core_rnd[c]);
        }
        if (req && !gnt) stall++;
        else stall = 0;
    }

    bool offer(uint32_t add, int nw) const {
        bool o;
        switch (mode) {
            case 0: o = true; break;
            case 1: o = static_cast<uint16_t>(rnd) < p16 || p16 == 0xFFFF; break;
            case 2: o = burst_on; break;
            default: {
                uint32_t busy = 0, want = 0;
                for (unsigned c = 0; c < 8; c++)
                    if (c < n_cores && static_cast<uint16_t>(core_rnd[c]) < core_rate16)
                        busy |= 1u << ((core_rnd[c] >> 16) % n_banks);
                for (int w = 0; w < nw; w++) want |= 1u << (((add >> 2) + static_cast<uint32_t>(w)) % n_banks);
                o = (busy & want) == 0;
            }
        }
        if (max_stall != 0 && stall >= max_stall) o = true;
        return o;
    }
};

// ---------------------------------------------------------------- register accesses
struct Access {
    uint32_t add;
    bool write;
    uint32_t data;
};

enum : uint32_t { R_TRIGGER = 0x00, R_ACQUIRE = 0x04, R_X = 0x40, R_W = 0x44, R_Z = 0x48, R_MK = 0x4C,
                  R_N = 0x50, R_CFG = 0x54 };

}  // namespace

int main(int argc, char** argv) {
    Options o = parse_args(argc, argv);
    const auto t_start = std::chrono::steady_clock::now();

    auto ctx = std::make_unique<VerilatedContext>();
    ctx->commandArgs(argc, argv);
    auto top = std::make_unique<Vtop>(ctx.get(), "TOP");
#ifdef BENCH_SV_HARNESS
    const int NW = 0;  // the SV harness owns the TCDM port
#else
    const int NW = words_of(&top->tcdm_data_o);
#endif

    // ---- job layout and data
    const unsigned eb = o.fmt == 1 ? 2 : 1;
    const bool reads_y = o.op != 0;
    const uint64_t x_bytes = uint64_t(o.m) * o.n * eb, w_bytes = uint64_t(o.n) * o.k * eb,
                   z_bytes = uint64_t(o.m) * o.k * eb;
    auto up = [](uint64_t a) { return (a + 255) & ~uint64_t(255); };
    uint32_t x_base = o.x_base >= 0 ? uint32_t(o.x_base) : o.mem_base;
    uint32_t w_base = o.w_base >= 0 ? uint32_t(o.w_base) : uint32_t(up(x_base + x_bytes));
    uint32_t z_base = o.z_base >= 0 ? uint32_t(o.z_base) : uint32_t(up(w_base + w_bytes));
    Memory mem{o.mem_base, std::vector<uint32_t>(o.mem_words, 0)};
    auto fits = [&](uint32_t b, uint64_t n) {
        return b >= o.mem_base && uint64_t(b) + n <= uint64_t(o.mem_base) + 4ull * o.mem_words;
    };
    if (!fits(x_base, x_bytes) || !fits(w_base, w_bytes) || !fits(z_base, z_bytes))
        die("the job does not fit the memory window (raise --mem-words)");
    std::vector<uint8_t> z_ref;
    if (!o.data.empty()) {
        auto put = [&](uint32_t b, const std::vector<uint8_t>& v) {
            for (size_t i = 0; i < v.size(); i++) mem.set_byte(b + uint32_t(i), v[i]);
        };
        put(x_base, read_file(o.data + "/x.bin", x_bytes));
        put(w_base, read_file(o.data + "/w.bin", w_bytes));
        if (reads_y) put(z_base, read_file(o.data + "/y.bin", z_bytes));
        z_ref = read_file(o.data + "/z_ref.bin", z_bytes);
    } else {
        uint32_t s = o.seed * 2654435761u + 12345u;
        auto fill = [&](uint32_t b, uint64_t elems) {
            for (uint64_t i = 0; i < elems; i++) {
                uint16_t v = random_elem(s, o.fmt);
                mem.set_byte(b + uint32_t(i * eb), uint8_t(v));
                if (eb == 2) mem.set_byte(b + uint32_t(i * eb + 1), uint8_t(v >> 8));
            }
        };
        fill(x_base, uint64_t(o.m) * o.n);
        fill(w_base, uint64_t(o.n) * o.k);
        if (reads_y) fill(z_base, uint64_t(o.m) * o.k);
    }

    // ---- grant profile
    Grant g;
    g.mode = o.mode;
    auto q16 = [](double f) {
        long v = std::lround(f * 65536.0);
        return static_cast<uint16_t>(v < 0 ? 0 : v > 0xFFFF ? 0xFFFF : v);
    };
    g.p16 = q16(o.p);
    g.on = static_cast<uint16_t>(o.on < 1 ? 1 : o.on > 0xFFFF ? 0xFFFF : o.on);
    g.off = static_cast<uint16_t>(o.off < 1 ? 1 : o.off > 0xFFFF ? 0xFFFF : o.off);
    g.core_rate16 = q16(o.core_rate);
    g.n_banks = o.n_banks;
    g.n_cores = o.n_cores;
    g.max_stall = o.max_stall;
    g.seed = o.seed ? o.seed : 1;

    // ---- program: ACQUIRE (repeated until it answers an id), six registers, TRIGGER
    const uint32_t mk = (o.k << 16) | o.m, cfg = (o.op << 10) | (o.fmt << 7);
    std::vector<Access> prog = {{R_ACQUIRE, false, 0}, {R_X, true, x_base},  {R_W, true, w_base},
                                {R_Z, true, z_base},   {R_MK, true, mk},     {R_N, true, o.n},
                                {R_CFG, true, cfg},    {R_TRIGGER, true, 0}};
    size_t next = 0;           // next access to put on the port
    int inflight = -1;         // access granted last cycle: its response comes this cycle
    bool reseeded = false;

    uint64_t est = uint64_t((o.m + 11) / 12 + 1) * ((o.k + 15) / 16 + 1) * (uint64_t(o.n) + 4) * 4 + 200;
    const uint64_t max_cycles = o.max_cycles ? o.max_cycles : 50 * est + 100000;

    // ---- simulation state
    uint64_t cycle = 0, trigger_cycle = 0, event_cycle = 0;
    uint64_t loads = 0, stores = 0, grants = 0, req_cycles = 0;
    bool gnt = false, rvalid = false, triggered = false, done = false;
    std::vector<uint32_t> rdata(NW, 0);
    const unsigned evt_bit = 2 * o.core;
    std::chrono::steady_clock::time_point t_trig, t_evt;
    double cpu_trig = 0, cpu_evt = 0;

    top->clk_i = 0;
    top->rst_ni = 0;
    top->periph_req_i = 0;
    top->periph_add_i = 0;
    top->periph_wen_i = 1;
    top->periph_be_i = 0;
    top->periph_data_i = 0;
    top->periph_id_i = 0;
#ifdef BENCH_SV_HARNESS
    top->gnt_mode_i = static_cast<uint8_t>(o.mode);
    top->gnt_p_i = g.p16;
    top->gnt_on_i = g.on;
    top->gnt_off_i = g.off;
    top->gnt_core_rate_i = g.core_rate16;
    top->gnt_n_banks_i = static_cast<uint8_t>(g.n_banks);
    top->gnt_n_cores_i = static_cast<uint8_t>(g.n_cores);
    top->gnt_max_stall_i = g.max_stall;
    top->gnt_seed_i = g.seed;
    top->gnt_reseed_i = 0;
    top->store_resp_i = 1;
    top->waive_rq4_i = 0;
    top->job_active_i = 0;
    top->hang_limit_i = 20000;
    top->budget_limit_i = 0;
    top->progress_clr_i = 0;
    top->flush_i = 0;
#else
    top->test_mode_i = 0;
    top->tcdm_gnt_i = 0;
    top->tcdm_r_valid_i = 0;
    for (int i = 0; i < NW; i++) set_word(top->tcdm_r_data_i, i, 0xDEADBEEFu);
#endif
    top->eval();
#ifdef BENCH_SV_HARNESS
    // the harness's `initial` has cleared its memory in the first eval: load the job's data
    auto& hmem = top->rootp->redmule_harness__DOT__mem;
    if (o.mem_words != hmem.size()) die("--mem-words differs from the harness's MEM_WORDS");
    for (uint32_t i = 0; i < o.mem_words; i++) hmem[i] = mem.words[i];
#endif

#ifdef BENCH_SV_HARNESS
    auto posedge = [&]() {
        top->clk_i = 1;
        top->eval();
        cycle++;
        if (g.reseed_pending) g.reseed_pending = false;  // taken at this edge
    };
    auto negedge = [&]() {
        top->gnt_reseed_i = g.reseed_pending;
        top->job_active_i = triggered && !done;
        top->clk_i = 0;
        top->eval();
    };
#else
    auto posedge = [&]() {
        // the handshake of the cycle that ends, sampled on settled signals
        const bool req = top->tcdm_req_o;
        const bool hs = req && gnt;
        if (req) req_cycles++;
        rvalid = false;
        if (hs) {
            grants++;
            const uint32_t base_idx = (top->tcdm_add_o - mem.base) >> 2;
            if (top->tcdm_wen_o) {
                for (int w = 0; w < NW; w++) {
                    uint32_t idx = base_idx + uint32_t(w);
                    rdata[w] = mem.in_range(idx) ? mem.words[idx] : 0xBADDA7A0u;
                }
                rvalid = true;
                loads++;
            } else {
                for (int w = 0; w < NW; w++) {
                    uint32_t idx = base_idx + uint32_t(w);
                    if (!mem.in_range(idx)) continue;
                    const uint32_t d = word_of(top->tcdm_data_o, w);
                    uint32_t& m = mem.words[idx];
                    for (int b = 0; b < 4; b++)
                        if (be_bit(top->tcdm_be_o, w * 4 + b))
                            m = (m & ~(0xFFu << (8 * b))) | (d & (0xFFu << (8 * b)));
                }
                rvalid = true;  // the env's memory answers stores too (store_resp); the DUT ignores it
                stores++;
            }
        }
        g.clock(req, gnt);
        top->clk_i = 1;
        top->eval();
        cycle++;
    };

    auto negedge = [&]() {
        // outputs of the new cycle have settled: drive this cycle's inputs, then the falling edge
        top->tcdm_r_valid_i = rvalid;
        if (rvalid) for (int w = 0; w < NW; w++) set_word(top->tcdm_r_data_i, w, rdata[w]);
        else for (int w = 0; w < NW; w++) set_word(top->tcdm_r_data_i, w, 0xDEADBEEFu);
        gnt = top->tcdm_req_o && g.offer(top->tcdm_add_o, NW);
        top->tcdm_gnt_i = gnt;
        top->clk_i = 0;
        top->eval();
    };
#endif

    // reset: 4 cycles low, 2 cycles high (as the env's base test)
    for (int i = 0; i < 4; i++) { posedge(); negedge(); }
    top->rst_ni = 1;
    for (int i = 0; i < 2; i++) { posedge(); negedge(); }

    while (!done) {
        posedge();
        // register port: the response of last cycle's granted access
        if (inflight >= 0) {
            if (!top->periph_r_valid_o) die("no periph_r_valid_o one cycle after a granted access");
            const Access& a = prog[size_t(inflight)];
            if (a.add == R_ACQUIRE && top->periph_r_data_o >= 0x100u) {
                next = size_t(inflight);  // -1/-2: ask again
            } else if (a.add == R_TRIGGER && a.write) {
                triggered = true;
                trigger_cycle = cycle;
                t_trig = std::chrono::steady_clock::now();
                cpu_trig = cpu_seconds();
            }
            inflight = -1;
        }
        if (triggered && ((top->evt_o >> evt_bit) & 1)) {
            event_cycle = cycle;
            t_evt = std::chrono::steady_clock::now();
            cpu_evt = cpu_seconds();
            done = true;
        }
        // the grant stream is reseeded right before TRIGGER goes out, as the env's responder does
        const bool drive = next < prog.size() && inflight < 0;
        if (drive && prog[next].add == R_TRIGGER && !reseeded) {
            g.reseed_pending = true;
            reseeded = true;
        }
        if (drive) {
            const Access& a = prog[next];
            top->periph_req_i = 1;
            top->periph_add_i = a.add;
            top->periph_wen_i = a.write ? 0 : 1;
            top->periph_be_i = 0xF;
            top->periph_data_i = a.data;
            top->periph_id_i = (1u << o.core);
        } else {
            top->periph_req_i = 0;
        }
        negedge();
        if (drive && top->periph_gnt_o) {
            inflight = int(next);
            next++;
        }
        if (cycle > max_cycles) {
            std::printf("{\"status\": \"timeout\", \"cycle\": %" PRIu64 ", \"loads\": %" PRIu64
                        ", \"stores\": %" PRIu64 "}\n", cycle, loads, stores);
            return 1;
        }
    }
    // let the event cycle end, so that a store granted in it lands
    posedge();
    negedge();
    top->final();
    const auto t_end = std::chrono::steady_clock::now();

#ifdef BENCH_SV_HARNESS
    loads = top->n_loads_o;
    stores = top->n_stores_o;
    for (uint32_t i = 0; i < o.mem_words; i++) mem.words[i] = hmem[i];
#endif
    // ---- Z check against the reference
    const char* zcheck = "skipped";
    uint64_t bad = 0, first_bad = 0;
    if (!z_ref.empty()) {
        for (uint64_t e = 0; e < uint64_t(o.m) * o.k; e++) {
            bool differs = false;
            for (unsigned b = 0; b < eb; b++)
                if (mem.byte(z_base + uint32_t(e * eb + b)) != z_ref[e * eb + b]) differs = true;
            if (differs && bad++ == 0) first_bad = e;
        }
        zcheck = bad ? "fail" : "pass";
    }
    auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
    const double wall = secs(t_trig, t_evt), total = secs(t_start, t_end);
    const uint64_t cycles = event_cycle - trigger_cycle;
    std::printf("{\"status\": \"%s\", \"m\": %u, \"n\": %u, \"k\": %u, \"op\": \"%s\", \"fmt\": \"%s\", "
                "\"profile\": \"%s\", \"p\": %g, \"seed\": %u, \"cycles\": %" PRIu64 ", \"trigger_cycle\": %" PRIu64
                ", \"event_cycle\": %" PRIu64 ", \"total_cycles\": %" PRIu64 ", \"wall_s\": %.6f, "
                "\"total_wall_s\": %.6f, \"cpu_s\": %.6f, \"cycles_per_s\": %.1f, \"cycles_per_cpu_s\": %.1f, "
                "\"loads\": %" PRIu64 ", \"stores\": %" PRIu64 ", \"req_cycles\": %" PRIu64 ", \"z_check\": \"%s\", "
                "\"z_mismatches\": %" PRIu64 ", \"first_mismatch\": %" PRIu64 ", \"dw\": %d, \"harness\": \"%s\"}\n",
                bad ? "fail" : "pass", o.m, o.n, o.k, OP_NAMES[o.op], FMT_NAMES[o.fmt], MODE_NAMES[o.mode], o.p,
                o.seed, cycles, trigger_cycle, event_cycle, cycle, wall, total, cpu_evt - cpu_trig,
                wall > 0 ? cycles / wall : 0.0, cpu_evt > cpu_trig ? cycles / (cpu_evt - cpu_trig) : 0.0,
                loads, stores, req_cycles, zcheck, bad, first_bad, NW * 32, HARNESS_KIND);
    return bad ? 1 : 0;
}
