// redmule_ce: one compute element (CE) of the RedMulE datapath.
//
// Role: keeps P+1 independent FP16 accumulators (the P+1 output columns that
// this CE owns) circulating in a loop of exactly P+1 registers, and applies
// one GEMM-op step z = f2(f1(x, w), z) per enabled cycle to the accumulator
// that is at the loop's entry in that cycle.
//
//   FMA ops (MATMUL, GEMM)      z' = fma(x, w, z)
//     loop: feedback reg -> fma (P regs) -> feedback reg
//   ADDMAX/ADDMIN/MULMAX/MULMIN  z' = max|min(x + w | x * w, z)
//     the FMA computes x + w = fma(x, 1.0, w) or x * w = fma(x, w, -0), which
//     does not depend on z; z travels beside it in a P-register delay line and
//     the f2 min/max unit combines both at the FMA output:
//     loop: feedback reg -> delay line (P regs) -> f2 -> feedback reg
//   MAXMIN/MINMAX                z' = min|max(max|min(x, w), z)
//     f1 and f2 are both applied at the input, the result travels the delay
//     line: loop: feedback reg -> f1/f2 -> delay line (P regs) -> feedback reg
//
// Operand timing: x_i, w_i, y_i, init_i are used in the cycle they are
// presented with en_i high (the issue cycle). z at the loop entry is y_i when
// init_i (the first step of a tile: Y, or +0 for MATMUL, chosen by the array)
// and the fed-back accumulator otherwise. The updated accumulator of an issue
// appears on res_o P enabled cycles later (res_o is the value the feedback
// register takes at the next enabled edge), so the same column re-enters the
// loop exactly P+1 enabled cycles after its previous issue.
// Every register advances only when en_i is high (array-wide stall).
module redmule_ce
  import redmule_pkg::*;
#(
  parameter int unsigned P = 3  // FMA pipeline registers
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        en_i,     // advance every register of the CE
  input  logic [2:0]  op_i,     // GEMM-op (constant during a job)
  input  logic        init_i,   // first step of a tile: z comes from y_i
  input  logic [15:0] x_i,
  input  logic [15:0] w_i,
  input  logic [15:0] y_i,
  output logic [15:0] res_o     // updated z of the issue made P enabled cycles ago
);

  localparam logic [15:0] FP16_ONE      = 16'h3C00;
  localparam logic [15:0] FP16_NEG_ZERO = 16'h8000;

  logic        op_fma, op_add, op_cmp_in;  // op classes
  logic [15:0] z_cur;                      // accumulator at the loop entry
  logic [15:0] feedback_q;                 // loop register closing the P+1 loop
  logic [15:0] fma_a, fma_b, fma_c, fma_res;
  logic [15:0] f1_res;                     // min/max of x and w (MAXMIN/MINMAX)
  logic [15:0] f2_a, f2_b, f2_res;         // min/max with the accumulator
  logic        f1_max, f2_max;
  logic [15:0] delay_in, delay_out;        // z delay line beside the FMA

  assign op_fma    = (op_i == OP_MATMUL) || (op_i == OP_GEMM);
  assign op_add    = (op_i == OP_ADDMAX) || (op_i == OP_ADDMIN);
  assign op_cmp_in = (op_i == OP_MAXMIN) || (op_i == OP_MINMAX);

  assign z_cur = init_i ? y_i : feedback_q;

  // ---------------------------------------------------------------- FMA
  always_comb begin
    fma_a = x_i;
    fma_b = w_i;
    fma_c = z_cur;
    if (op_add) begin
      fma_b = FP16_ONE;       // x + w
      fma_c = w_i;
    end else if (!op_fma) begin
      fma_c = FP16_NEG_ZERO;  // x * w (MULMAX/MULMIN; don't care for MAXMIN/MINMAX)
    end
  end

  redmule_fp16_fma #(.NUM_REGS(P)) i_fma (
    .clk_i, .rst_ni, .en_i,
    .a_i(fma_a), .b_i(fma_b), .c_i(fma_c), .res_o(fma_res)
  );

  // ---------------------------------------------------------------- min/max units
  assign f1_max = (op_i == OP_MAXMIN);  // MAXMIN: f1 = max(x, w); MINMAX: f1 = min(x, w)

  redmule_fp16_minmax i_f1_minmax (.a_i(x_i), .b_i(w_i), .max_i(f1_max), .res_o(f1_res));

  // f2 sits at the loop entry for MAXMIN/MINMAX and at the FMA output otherwise
  assign f2_a   = op_cmp_in ? f1_res : fma_res;
  // (with P = 0 the delay line is a wire and delay_out = z_cur in that mode;
  // naming z_cur directly keeps the netlist free of a false loop)
  assign f2_b   = (op_cmp_in || P == 0) ? z_cur : delay_out;
  assign f2_max = (op_i == OP_ADDMAX) || (op_i == OP_MULMAX) || (op_i == OP_MINMAX);

  redmule_fp16_minmax i_f2_minmax (.a_i(f2_a), .b_i(f2_b), .max_i(f2_max), .res_o(f2_res));

  // ---------------------------------------------------------------- z delay line
  assign delay_in = op_cmp_in ? f2_res : z_cur;

  if (P == 0) begin : g_no_delay
    assign delay_out = delay_in;
  end else begin : g_delay
    logic [P-1:0][15:0] delay_q;
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        delay_q <= '0;
      end else if (en_i) begin
        delay_q[0] <= delay_in;
        for (int unsigned i = 1; i < P; i++) delay_q[i] <= delay_q[i-1];
      end
    end
    assign delay_out = delay_q[P-1];
  end

  // ---------------------------------------------------------------- loop closure
  always_comb begin
    if (op_fma)         res_o = fma_res;
    else if (op_cmp_in) res_o = delay_out;
    else                res_o = f2_res;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)   feedback_q <= '0;
    else if (en_i) feedback_q <= res_o;
  end

endmodule
