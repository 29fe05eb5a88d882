// redmule_fp16_to_fp8: narrowing of an IEEE binary16 result to FP8 on the
// output side of the RedMulE datapath.
//
// alt_i = 0: FP8 = E5M2 (bias 15); alt_i = 1: FP8ALT = E4M3 IEEE-like
// (bias 7, max 240, Inf = 0x78/0xF8, smallest subnormal 2^-9).
// Round to nearest, ties to even, with subnormal results; overflow gives Inf
// (no saturation); every NaN gives the canonical quiet NaN of the target
// format (0x7E for E5M2, 0x7C for E4M3).
//
// Timing: purely combinational.
module redmule_fp16_to_fp8 (
  input  logic [15:0] a_i,
  input  logic        alt_i,
  output logic [7:0]  res_o
);

  logic        sign, is_nan, is_inf;
  logic [4:0]  exp16;
  logic [9:0]  man16;
  logic [10:0] sig16;     // significand with the hidden bit

  assign sign   = a_i[15];
  assign exp16  = a_i[14:10];
  assign man16  = a_i[9:0];
  assign sig16  = {|exp16, man16};
  assign is_nan = (&exp16) & (|man16);
  assign is_inf = (&exp16) & ~(|man16);

  // ---------------------------------------------------------------------------
  // E5M2: same exponent range as binary16, drop 8 mantissa bits. A rounding
  // carry moves into the exponent field (subnormal -> normal, max -> Inf).
  // ---------------------------------------------------------------------------
  logic       e5_round_up;
  logic [6:0] e5_packed;   // {exponent, mantissa} after rounding

  // Cannot wrap: the largest non-NaN field 0x7C (Inf) has no rounding bits and
  // 0x7B rounds up to 0x7C at most.
  assign e5_round_up = man16[7] & ((|man16[6:0]) | man16[8]);
  assign e5_packed   = a_i[14:8] + 7'(e5_round_up);

  // ---------------------------------------------------------------------------
  // E4M3: binary16 exponent e16 maps to e16 - 8. Normal results for
  // e16 >= 9; below, the significand is shifted to units of 2^-9.
  // ---------------------------------------------------------------------------
  logic        e4_normal;
  logic [4:0]  e4_exp;       // biased E4M3 exponent of a normal result
  logic [3:0]  e4_sub_shift; // 16 - max(e16, 1), 8 .. 15
  logic [26:0] e4_sub_ext;   // {sig16, 16 guard bits} >> e4_sub_shift
  logic        e4_lsb;       // LSB of the truncated result (ties to even)
  logic        e4_round_bit, e4_sticky, e4_round_up;
  logic [7:0]  e4_packed;    // {exponent, mantissa} after rounding

  assign e4_normal    = exp16 >= 5'd9;
  assign e4_exp       = exp16 - 5'd8;
  assign e4_sub_shift = 4'(5'd16 - ((exp16 == 5'd0) ? 5'd1 : exp16));
  assign e4_sub_ext   = {sig16, 16'd0} >> e4_sub_shift;

  always_comb begin
    if (e4_normal) begin
      e4_lsb       = man16[7];
      e4_round_bit = man16[6];
      e4_sticky    = |man16[5:0];
      e4_packed    = {e4_exp, man16[9:7]};
    end else begin
      // sig16 >> shift has at most 3 bits: the subnormal mantissa.
      e4_lsb       = e4_sub_ext[16];
      e4_round_bit = e4_sub_ext[15];
      e4_sticky    = |e4_sub_ext[14:0];
      e4_packed    = {5'd0, e4_sub_ext[18:16]};
    end
    e4_round_up = e4_round_bit & (e4_sticky | e4_lsb);
  end

  logic [7:0] e4_rounded;
  assign e4_rounded = e4_packed + 8'(e4_round_up);

  // Bits [26:19] of e4_sub_ext are zero for every subnormal shift (>= 8).
  logic unused_sub_high;
  assign unused_sub_high = |e4_sub_ext[26:19];

  always_comb begin
    if (!alt_i) begin
      if (is_nan) begin
        res_o = 8'h7E;
      end else begin
        res_o = {sign, e5_packed};   // Inf stays Inf, overflow carries to Inf
      end
    end else begin
      if (is_nan) begin
        res_o = 8'h7C;
      end else if (is_inf || e4_rounded >= 8'h78) begin
        res_o = {sign, 7'h78};
      end else begin
        res_o = {sign, e4_rounded[6:0]};
      end
    end
  end

endmodule
