// fp_units_tb: Verilator harness for fp_units_top (unit tests of the RedMulE
// floating-point units). Vectors come from a binary file of little-endian
// uint16 records and the results go to a binary file of uint16, one per record.
//
//   fp_units_tb comb IN OUT   records {op, x, y, z}; op: 0 = fma(x, y, z),
//                             1 = min(x, y), 2 = max(x, y), 3 = fp16->E5M2(x),
//                             4 = fp16->E4M3(x), 5 = E5M2->fp16(x),
//                             6 = E4M3->fp16(x); evaluated combinationally
//                             (needs FMA_REGS = 0).
//   fp_units_tb pipe IN OUT   one record {en, a, b, c} per clock cycle; the
//                             output is fma_o sampled after that cycle's
//                             rising edge.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "Vtop.h"  // the build layer names the model Vtop (--prefix Vtop)
#include "verilated.h"

static bool read_file(const char* path, std::vector<uint16_t>& data) {
    FILE* f = std::fopen(path, "rb");
    if (!f) return false;
    std::fseek(f, 0, SEEK_END);
    long size = std::ftell(f);
    std::fseek(f, 0, SEEK_SET);
    data.resize(static_cast<size_t>(size) / 2);
    size_t got = std::fread(data.data(), 2, data.size(), f);
    std::fclose(f);
    return got == data.size();
}

static bool write_file(const char* path, const std::vector<uint16_t>& data) {
    FILE* f = std::fopen(path, "wb");
    if (!f) return false;
    size_t put = std::fwrite(data.data(), 2, data.size(), f);
    std::fclose(f);
    return put == data.size();
}

int main(int argc, char** argv) {
    if (argc != 4 || (std::strcmp(argv[1], "comb") != 0 && std::strcmp(argv[1], "pipe") != 0)) {
        std::fprintf(stderr, "usage: %s comb|pipe IN OUT\n", argv[0]);
        return 2;
    }
    const bool pipe = std::strcmp(argv[1], "pipe") == 0;
    std::vector<uint16_t> in;
    if (!read_file(argv[2], in) || in.size() % 4 != 0) {
        std::fprintf(stderr, "cannot read 4-word records from %s\n", argv[2]);
        return 2;
    }
    const size_t n = in.size() / 4;
    std::vector<uint16_t> out(n);

    auto ctx = std::make_unique<VerilatedContext>();
    auto top = std::make_unique<Vtop>(ctx.get());
    top->clk_i = 0;
    top->rst_ni = 1;
    top->en_i = 0;
    top->max_i = 0;
    top->alt_i = 0;
    top->eval();

    for (size_t i = 0; i < n; ++i) {
        const uint16_t* r = &in[4 * i];
        if (pipe) {
            top->en_i = r[0] & 1;
            top->x_i = r[1];
            top->y_i = r[2];
            top->z_i = r[3];
            top->clk_i = 0;
            top->eval();
            top->clk_i = 1;
            top->eval();
            out[i] = top->fma_o;
            top->clk_i = 0;
            top->eval();
            continue;
        }
        top->x_i = r[1];
        top->y_i = r[2];
        top->z_i = r[3];
        top->max_i = r[0] == 2;
        top->alt_i = r[0] == 4 || r[0] == 6;
        top->eval();
        switch (r[0]) {
            case 0: out[i] = top->fma_o; break;
            case 1:
            case 2: out[i] = top->minmax_o; break;
            case 3:
            case 4: out[i] = top->to_fp8_o; break;
            case 5:
            case 6: out[i] = top->to_fp16_o; break;
            default:
                std::fprintf(stderr, "record %zu: bad op %u\n", i, r[0]);
                return 2;
        }
    }
    top->final();
    if (!write_file(argv[3], out)) {
        std::fprintf(stderr, "cannot write %s\n", argv[3]);
        return 2;
    }
    return 0;
}
