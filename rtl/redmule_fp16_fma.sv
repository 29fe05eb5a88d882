// redmule_fp16_fma: IEEE binary16 fused multiply-add of the RedMulE compute
// element, res = RNE(a * b + c), rounded once.
//
// Arithmetic (spec section 5): round to nearest, ties to even; subnormal
// inputs and outputs (no flushing); overflow gives +-Inf; every NaN result is
// the canonical quiet NaN 0x7E00 (also for sNaN inputs, Inf*0 and Inf-Inf);
// an exact zero sum is +0 unless both addends are zeros of the same sign.
// fma(x, 1.0, w) is x + w and fma(x, w, -0.0) is x * w, bit for bit.
//
// Datapath: the exact product and the addend are placed on one absolute
// fixed-point grid with LSB weight 2^-27. Product bits below 2^-26 are jammed
// into bit 0: the addend is a multiple of 2^-24, so the jammed sum lies in the
// same open interval between multiples of 2^-26 as the exact sum, with the
// same sign, and every rounding boundary of binary16 (ulps and midpoints) is a
// multiple of 2^-25: the single rounding gives the same result. The signed
// sum is exact on that grid; it is then normalised (clamped to the subnormal
// range) and rounded once.
//   stage A: decode, special cases, 11x11 multiply, alignment
//   stage S: add / subtract of the aligned magnitudes
//   stage N: leading-zero count, normalisation, rounding, packing
//
// Timing: NUM_REGS = 0 is purely combinational (clk_i, rst_ni, en_i unused).
// NUM_REGS = N > 0 gives a latency of N enabled cycles: N = 1 registers the
// output; N = 2 adds a register after stage A; N = 3 adds one after stage S;
// every further register is appended at the output. All registers advance only
// when en_i is high (the CE array stalls by dropping en_i). The datapath
// registers have no reset; rst_ni is accepted for interface uniformity.
module redmule_fp16_fma #(
  parameter int unsigned NUM_REGS = 0
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        en_i,
  input  logic [15:0] a_i,
  input  logic [15:0] b_i,
  input  logic [15:0] c_i,
  output logic [15:0] res_o
);

  // Magnitudes on the fixed-point grid: LSB weight 2^-27, |a*b| < 2^32 and
  // |c| < 2^16, so 60 bits hold every sum exactly.
  localparam int unsigned SW = 60;
  // The product in units of 2^-48 (the weight of the LSB of the smallest
  // subnormal product): 22-bit significand product shifted by up to 58.
  localparam int unsigned PW = 80;

  localparam logic [15:0] QNAN = 16'h7E00;

  // Stage A -> stage S
  typedef struct packed {
    logic          special;      // result fixed by the special-case logic
    logic [15:0]   special_res;
    logic          sign_p;       // sign of a*b
    logic          sign_c;       // sign of c
    logic [SW-1:0] mag_p;        // |a*b|, bit 0 is a jammed sticky bit
    logic [SW-1:0] mag_c;        // |c|
  } align_t;

  // Stage S -> stage N
  typedef struct packed {
    logic          special;
    logic [15:0]   special_res;
    logic          sign;         // sign of the result (also for a zero sum)
    logic [SW-1:0] mag;          // |a*b + c| on the fixed-point grid
  } sum_t;

  // ---------------------------------------------------------------------------
  // Stage A: decode, special cases, multiply, align
  // ---------------------------------------------------------------------------
  align_t align_d, align_q;

  logic        a_expmax, b_expmax, c_expmax;
  logic        a_nan, b_nan, c_nan, a_inf, b_inf, c_inf, a_zero, b_zero;
  logic        prod_inf, invalid;
  logic [10:0] sig_a, sig_b, sig_c;
  logic [4:0]  exp_a, exp_b, exp_c;   // effective biased exponents, max(e, 1)
  logic [21:0] sig_prod;
  logic [5:0]  prod_shift;
  logic [PW-1:0] prod_wide;

  assign a_expmax = &a_i[14:10];
  assign b_expmax = &b_i[14:10];
  assign c_expmax = &c_i[14:10];
  assign a_nan    = a_expmax & (|a_i[9:0]);
  assign b_nan    = b_expmax & (|b_i[9:0]);
  assign c_nan    = c_expmax & (|c_i[9:0]);
  assign a_inf    = a_expmax & ~(|a_i[9:0]);
  assign b_inf    = b_expmax & ~(|b_i[9:0]);
  assign c_inf    = c_expmax & ~(|c_i[9:0]);
  assign a_zero   = ~(|a_i[14:0]);
  assign b_zero   = ~(|b_i[14:0]);

  assign sig_a = {|a_i[14:10], a_i[9:0]};
  assign sig_b = {|b_i[14:10], b_i[9:0]};
  assign sig_c = {|c_i[14:10], c_i[9:0]};
  assign exp_a = {a_i[14:11], a_i[10] | ~(|a_i[14:10])};
  assign exp_b = {b_i[14:11], b_i[10] | ~(|b_i[14:10])};
  assign exp_c = {c_i[14:11], c_i[10] | ~(|c_i[14:10])};

  // a = sig_a * 2^(exp_a - 25): the product in units of 2^-48 is
  // sig_a * sig_b << (exp_a + exp_b - 2), with a shift of 0 .. 58.
  assign sig_prod   = 22'(sig_a) * 22'(sig_b);
  assign prod_shift = 6'(exp_a) + 6'(exp_b) - 6'd2;
  assign prod_wide  = PW'(sig_prod) << prod_shift;

  assign prod_inf = a_inf | b_inf;
  assign invalid  = a_nan | b_nan | c_nan
                  | (a_inf & b_zero) | (b_inf & a_zero)
                  | (prod_inf & c_inf & (a_i[15] ^ b_i[15] ^ c_i[15]));

  always_comb begin
    align_d.special     = invalid | prod_inf | c_inf;
    align_d.special_res = invalid  ? QNAN
                        : prod_inf ? {a_i[15] ^ b_i[15], 15'h7C00}
                        :            {c_i[15], 15'h7C00};
    align_d.sign_p      = a_i[15] ^ b_i[15];
    align_d.sign_c      = c_i[15];
    // Units of 2^-27: the product is kept exactly down to 2^-26 (bit 22 of
    // prod_wide); everything below is jammed into bit 0 (weight 2^-27).
    align_d.mag_p       = SW'({prod_wide[PW-1:22], |prod_wide[21:0]});
    // c = sig_c * 2^(exp_c - 25), i.e. sig_c << (exp_c + 2) in units of 2^-27.
    align_d.mag_c       = SW'(sig_c) << (6'(exp_c) + 6'd2);
  end

  // ---------------------------------------------------------------------------
  // Stage S: exact signed sum of the aligned magnitudes
  // ---------------------------------------------------------------------------
  sum_t          sum_d, sum_q;
  logic          eff_sub, p_lt_c;
  logic [SW-1:0] mag_big, mag_small;

  assign eff_sub   = align_q.sign_p ^ align_q.sign_c;
  assign p_lt_c    = align_q.mag_p < align_q.mag_c;
  assign mag_big   = p_lt_c ? align_q.mag_c : align_q.mag_p;
  assign mag_small = p_lt_c ? align_q.mag_p : align_q.mag_c;

  always_comb begin
    sum_d.special     = align_q.special;
    sum_d.special_res = align_q.special_res;
    // One adder: |a*b| + |c| < 2^59 + 2^43 has no carry out, and the
    // difference of the ordered magnitudes is never negative.
    sum_d.mag         = eff_sub ? mag_big - mag_small : mag_big + mag_small;
    // The larger magnitude gives the sign (both signs agree for an addition).
    sum_d.sign        = p_lt_c ? align_q.sign_c : align_q.sign_p;
    // Exact zero: +0, unless both addends are zeros of the same sign (for a
    // zero sum of opposite signs the AND gives +0 as well).
    if (sum_d.mag == '0) begin
      sum_d.sign = align_q.sign_p & align_q.sign_c;
    end
  end

  // ---------------------------------------------------------------------------
  // Stage N: normalise, round to nearest even, pack
  // ---------------------------------------------------------------------------
  logic [15:0]   res_d;
  logic [6:0]    lzc;         // leading zeros of sum_q.mag, SW when zero
  logic [6:0]    norm_shift;
  logic [SW-1:0] norm;
  logic [5:0]    exp_res;     // biased exponent before rounding, 0 .. 47
  logic          round_bit, sticky, round_up;
  logic [15:0]   packed_res;  // {exponent, mantissa} after rounding

  always_comb begin
    lzc = 7'(SW);
    for (int unsigned i = 0; i < SW; i++) begin
      if (sum_q.mag[i]) lzc = 7'(SW - 1 - i);
    end
  end

  // A leading one at bit L (weight 2^(L-27)) is a normal number when L >= 13;
  // the shift brings it to bit SW-1, clamped at 46 for the subnormal range so
  // that the ulp stays at bit 3 (2^-24) of the unshifted magnitude.
  assign norm_shift = (lzc > 7'd46) ? 7'd46 : lzc;
  assign norm       = sum_q.mag << norm_shift;
  assign exp_res    = norm[SW-1] ? 6'(7'd47 - lzc) : 6'd0;
  assign round_bit  = norm[SW-12];
  assign sticky     = |norm[SW-13:0];
  assign round_up   = round_bit & (sticky | norm[SW-11]);
  // The hidden bit is carried by the exponent field: a rounding carry out of
  // the mantissa increments the exponent (and turns a subnormal into a normal).
  assign packed_res = {exp_res, norm[SW-2:SW-11]} + 16'(round_up);

  always_comb begin
    if (sum_q.special) begin
      res_d = sum_q.special_res;
    end else if (packed_res >= 16'h7C00) begin
      res_d = {sum_q.sign, 15'h7C00};
    end else begin
      res_d = {sum_q.sign, packed_res[14:0]};
    end
  end

  // ---------------------------------------------------------------------------
  // Pipeline registers (no reset, advance only when en_i is high)
  // ---------------------------------------------------------------------------
  localparam bit          RegAlign = NUM_REGS >= 2;
  localparam bit          RegSum   = NUM_REGS >= 3;
  localparam int unsigned OutRegs  = (NUM_REGS >= 3) ? NUM_REGS - 2
                                   : (NUM_REGS >= 1) ? 1 : 0;

  if (RegAlign) begin : gen_reg_align
    always_ff @(posedge clk_i) begin
      if (en_i) align_q <= align_d;
    end
  end else begin : gen_no_reg_align
    assign align_q = align_d;
  end

  if (RegSum) begin : gen_reg_sum
    always_ff @(posedge clk_i) begin
      if (en_i) sum_q <= sum_d;
    end
  end else begin : gen_no_reg_sum
    assign sum_q = sum_d;
  end

  if (OutRegs > 0) begin : gen_reg_out
    logic [15:0] out_q [OutRegs];
    always_ff @(posedge clk_i) begin
      if (en_i) begin
        out_q[0] <= res_d;
        for (int unsigned i = 1; i < OutRegs; i++) out_q[i] <= out_q[i-1];
      end
    end
    assign res_o = out_q[OutRegs-1];
  end else begin : gen_no_reg_out
    assign res_o = res_d;
    // Purely combinational: the clock and the enable have nothing to drive.
    logic unused_clk_en;
    assign unused_clk_en = clk_i ^ en_i;
  end

  // The datapath registers need no reset; rst_ni is part of the interface only.
  logic unused_rst;
  assign unused_rst = rst_ni;

endmodule
