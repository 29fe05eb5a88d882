// fp_units_top: unit-test wrapper around the four floating-point units of the
// RedMulE compute element (FMA, min/max, FP8 <-> FP16 casts), driven by the C++
// harness fp_units_tb.cpp. FMA_REGS = 0 gives a purely
// combinational FMA; FMA_REGS > 0 the pipelined FMA clocked through clk_i/en_i.
module fp_units_top #(
  parameter int unsigned FMA_REGS = 0
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        en_i,
  input  logic [15:0] x_i,     // fma a, minmax a, fp16->fp8 input, fp8->fp16 input (low byte)
  input  logic [15:0] y_i,     // fma b, minmax b
  input  logic [15:0] z_i,     // fma c
  input  logic        max_i,   // minmax: 1 = maximumNumber
  input  logic        alt_i,   // casts: 1 = FP8ALT (E4M3)
  output logic [15:0] fma_o,
  output logic [15:0] minmax_o,
  output logic [7:0]  to_fp8_o,
  output logic [15:0] to_fp16_o
);

  redmule_fp16_fma #(.NUM_REGS(FMA_REGS)) i_fma (
    .clk_i, .rst_ni, .en_i, .a_i(x_i), .b_i(y_i), .c_i(z_i), .res_o(fma_o)
  );

  redmule_fp16_minmax i_minmax (
    .a_i(x_i), .b_i(y_i), .max_i, .res_o(minmax_o)
  );

  redmule_fp16_to_fp8 i_to_fp8 (
    .a_i(x_i), .alt_i, .res_o(to_fp8_o)
  );

  redmule_fp8_to_fp16 i_to_fp16 (
    .a_i(x_i[7:0]), .alt_i, .res_o(to_fp16_o)
  );

endmodule
