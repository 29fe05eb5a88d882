// redmule_array: the L x H grid of compute elements and its operand
// distribution.
//
// Role: CE(l, h) owns the P+1 output columns h*(P+1) .. h*(P+1)+P of tile row
// l. In an issue cycle with column index j (0..P) every CE processes its
// column h*(P+1)+j for the same reduction index n:
//   - row l broadcasts x[m0+l][n] (x_col_i[l]) to its H CEs;
//   - column h of the grid gets w[n][k0+h*(P+1)+j] from the W row w_row_i
//     (one memory beat, T = H*(P+1) elements) -- shared by all L rows;
//   - on the first step of a tile (init_i) CE(l, h) starts its accumulator
//     from y_tile_i[l][h*(P+1)+j], or from +0 for MATMUL (Y is not read).
// res_o[l][h] is the updated accumulator of the issue made P enabled cycles
// earlier (see redmule_ce); the scheduler knows its column index.
//
// Timing: combinational operand selection into the CEs; all state advances
// with en_i only (the whole array stalls together).
module redmule_array
  import redmule_pkg::*;
#(
  parameter int unsigned L = 12,
  parameter int unsigned H = 4,
  parameter int unsigned P = 3,
  localparam int unsigned T  = H * (P + 1),
  localparam int unsigned JW = (P > 0) ? $clog2(P + 1) : 1
) (
  input  logic                       clk_i,
  input  logic                       rst_ni,
  input  logic                       en_i,
  input  logic [2:0]                 op_i,
  input  logic                       init_i,   // first step (n = 0) of a tile
  input  logic [JW-1:0]              j_i,      // column index within each CE, 0..P
  input  logic [L-1:0][15:0]         x_col_i,  // x[m0+l][n]
  input  logic [T-1:0][15:0]         w_row_i,  // w[n][k0 .. k0+T-1]
  input  logic [L-1:0][T-1:0][15:0]  y_tile_i, // Y of the tile (used when init_i)
  output logic [L-1:0][H-1:0][15:0]  res_o
);

  logic [H-1:0][15:0] w_ce;  // W element for each grid column in this cycle

  for (genvar h = 0; h < H; h++) begin : g_w_spread
    logic [P:0][15:0] w_group;
    assign w_group  = w_row_i[h*(P+1) +: P+1];
    assign w_ce[h]  = w_group[j_i];
  end

  for (genvar l = 0; l < L; l++) begin : g_row
    for (genvar h = 0; h < H; h++) begin : g_col
      logic [P:0][15:0] y_group;
      logic [15:0]      y_ce;
      assign y_group = y_tile_i[l][h*(P+1) +: P+1];
      assign y_ce    = (op_i == OP_MATMUL) ? 16'h0000 : y_group[j_i];

      redmule_ce #(.P(P)) i_ce (
        .clk_i, .rst_ni, .en_i,
        .op_i,
        .init_i,
        .x_i   (x_col_i[l]),
        .w_i   (w_ce[h]),
        .y_i   (y_ce),
        .res_o (res_o[l][h])
      );
    end
  end

endmodule
