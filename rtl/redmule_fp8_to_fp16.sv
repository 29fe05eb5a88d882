// redmule_fp8_to_fp16: exact widening of an FP8 element to IEEE binary16 on
// the input side of the RedMulE datapath.
//
// alt_i = 0: FP8 = E5M2 (bias 15, Inf and NaN as in IEEE); the widening is a
//            shift of the encoding.
// alt_i = 1: FP8ALT = E4M3, IEEE-like (bias 7, max 240, Inf = 0x78/0xF8,
//            exponent all ones with a nonzero mantissa = NaN, smallest
//            subnormal 2^-9); every value, subnormals included, is a normal
//            binary16 number.
// Every NaN gives the canonical quiet NaN 0x7E00.
//
// Timing: purely combinational.
module redmule_fp8_to_fp16 (
  input  logic [7:0]  a_i,
  input  logic        alt_i,
  output logic [15:0] res_o
);

  logic        sign;
  logic [3:0]  exp4;
  logic [2:0]  man3;
  logic [4:0]  exp_alt;   // binary16 biased exponent of an E4M3 value
  logic [9:0]  man_alt;   // binary16 mantissa of an E4M3 value

  assign sign = a_i[7];
  assign exp4 = a_i[6:3];
  assign man3 = a_i[2:0];

  // E4M3 -> binary16 (finite values)
  always_comb begin
    if (exp4 != 4'd0) begin
      // normal: 2^(e-7) * 1.m  ->  binary16 exponent e + 8
      exp_alt = 5'(exp4) + 5'd8;
      man_alt = {man3, 7'd0};
    end else if (man3[2]) begin
      // m * 2^-9 with m = 1xx: 2^-7 * 1.xx
      exp_alt = 5'd8;
      man_alt = {man3[1:0], 8'd0};
    end else if (man3[1]) begin
      // m = 01x: 2^-8 * 1.x
      exp_alt = 5'd7;
      man_alt = {man3[0], 9'd0};
    end else if (man3[0]) begin
      // m = 001: 2^-9
      exp_alt = 5'd6;
      man_alt = 10'd0;
    end else begin
      exp_alt = 5'd0;   // zero
      man_alt = 10'd0;
    end
  end

  always_comb begin
    if (!alt_i) begin
      // E5M2 is the upper byte of a binary16 encoding.
      if ((&a_i[6:2]) && (|a_i[1:0])) begin
        res_o = 16'h7E00;
      end else begin
        res_o = {a_i, 8'd0};
      end
    end else begin
      if (&exp4) begin
        res_o = (man3 != 3'd0) ? 16'h7E00 : {sign, 15'h7C00};
      end else begin
        res_o = {sign, exp_alt, man_alt};
      end
    end
  end

endmodule
