// redmule_fp16_minmax: IEEE 754-2019 maximumNumber (max_i = 1) and
// minimumNumber (max_i = 0) of two binary16 operands, as used by the min/max
// units of the RedMulE compute element.
//
// If exactly one operand is a NaN (quiet or signalling) the other operand is
// returned unchanged; two NaNs give the canonical quiet NaN 0x7E00; -0 is
// ordered below +0.
//
// Timing: purely combinational.
module redmule_fp16_minmax (
  input  logic [15:0] a_i,
  input  logic [15:0] b_i,
  input  logic        max_i,
  output logic [15:0] res_o
);

  logic a_nan, b_nan, a_lt_b;

  assign a_nan = (&a_i[14:10]) & (|a_i[9:0]);
  assign b_nan = (&b_i[14:10]) & (|b_i[9:0]);

  // Total order of the non-NaN encodings (sign-magnitude, -0 < +0).
  always_comb begin
    if (a_i[15] != b_i[15]) begin
      a_lt_b = a_i[15];
    end else if (!a_i[15]) begin
      a_lt_b = a_i[14:0] < b_i[14:0];
    end else begin
      a_lt_b = a_i[14:0] > b_i[14:0];
    end
  end

  always_comb begin
    if (a_nan && b_nan) begin
      res_o = 16'h7E00;
    end else if (a_nan) begin
      res_o = b_i;
    end else if (b_nan) begin
      res_o = a_i;
    end else if (max_i) begin
      res_o = a_lt_b ? b_i : a_i;
    end else begin
      res_o = a_lt_b ? a_i : b_i;
    end
  end

endmodule
