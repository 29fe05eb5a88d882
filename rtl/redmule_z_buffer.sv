// redmule_z_buffer: double-buffered Y-in / Z-out tile store.
//
// Role: each of the 2 slots holds one output tile, L rows x T columns of
// FP16. A slot first receives the tile's Y rows (load responses), hands them
// to the array on the tile's first reduction step, then collects the tile's
// results column by column as they leave the CE pipelines, and finally gives
// the rows to the streamer for storing. With two slots, the stores of tile t
// and the Y loads of tile t+1 overlap the compute of tile t+1.
//
// Slot life cycle: EMPTY --claim--> LOADING --y_done--> READY --start-->
// BUSY --res_done--> FULL --release--> EMPTY.
//   claim/y_done : streamer (first Y request committed / last Y response;
//                  for MATMUL no Y is loaded and y_done follows at once)
//   start        : scheduler, first issue of the tile (Y consumed in the
//                  next P+1 issue cycles, before any result of the tile is
//                  written back)
//   res_write    : scheduler, one column j of every CE (columns h*(P+1)+j)
//   res_done     : scheduler, with the tile's last result column
//   release      : streamer, when the last row's store data has been taken
//                  into the port register
//
// Timing: writes and state changes at the next rising edge; the read ports
// (whole tile for the array, one row for the streamer) are combinational.
module redmule_z_buffer #(
  parameter int unsigned L = 12,
  parameter int unsigned H = 4,
  parameter int unsigned P = 3,
  localparam int unsigned T  = H * (P + 1),
  localparam int unsigned LW = (L > 1) ? $clog2(L) : 1,
  localparam int unsigned JW = (P > 0) ? $clog2(P + 1) : 1
) (
  input  logic                       clk_i,
  input  logic                       rst_ni,
  input  logic                       clear_i,
  // Y side (streamer)
  input  logic                       claim_i,
  input  logic                       claim_slot_i,
  input  logic                       y_write_i,
  input  logic                       y_slot_i,
  input  logic [LW-1:0]              y_row_i,
  input  logic [T-1:0][15:0]         y_data_i,
  input  logic                       y_done_i,    // slot y_slot_i is READY
  // array side (scheduler)
  input  logic                       start_i,
  input  logic                       tile_slot_i,
  output logic [L-1:0][T-1:0][15:0]  tile_o,      // contents of slot tile_slot_i
  input  logic                       res_write_i,
  input  logic                       res_slot_i,
  input  logic [JW-1:0]              res_col_i,
  input  logic [L-1:0][H-1:0][15:0]  res_data_i,
  input  logic                       res_done_i,  // slot res_slot_i is FULL
  // store side (streamer)
  input  logic                       st_slot_i,
  input  logic [LW-1:0]              st_row_i,
  output logic [T-1:0][15:0]         st_data_o,
  input  logic                       release_i,   // slot st_slot_i is EMPTY
  // slot states
  output logic [1:0]                 slot_empty_o,
  output logic [1:0]                 slot_ready_o,
  output logic [1:0]                 slot_full_o
);

  typedef enum logic [2:0] {Z_EMPTY, Z_LOADING, Z_READY, Z_BUSY, Z_FULL} z_slot_state_e;

  z_slot_state_e              state_q [2];
  logic [L-1:0][T-1:0][15:0]  data_q  [2];

  for (genvar s = 0; s < 2; s++) begin : g_slot
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        state_q[s] <= Z_EMPTY;
      end else if (clear_i) begin
        state_q[s] <= Z_EMPTY;
      end else begin
        unique case (state_q[s])
          // a claim and y_done may coincide when no Y is loaded (MATMUL)
          Z_EMPTY:   if (claim_i && claim_slot_i == s[0])
                       state_q[s] <= (y_done_i && y_slot_i == s[0]) ? Z_READY : Z_LOADING;
          Z_LOADING: if (y_done_i && y_slot_i == s[0])      state_q[s] <= Z_READY;
          // with P = 0 a one-step tile (N = 1) starts and completes in one cycle
          Z_READY:   if (start_i && tile_slot_i == s[0])
                       state_q[s] <= (res_done_i && res_slot_i == s[0]) ? Z_FULL : Z_BUSY;
          Z_BUSY:    if (res_done_i && res_slot_i == s[0])  state_q[s] <= Z_FULL;
          Z_FULL:    if (release_i && st_slot_i == s[0])    state_q[s] <= Z_EMPTY;
          default:   state_q[s] <= Z_EMPTY;
        endcase
      end
    end

    // data: Y rows from memory, result columns from the array (never the same
    // slot in the same cycle: the slot states keep them apart)
    for (genvar l = 0; l < L; l++) begin : g_row
      for (genvar h = 0; h < H; h++) begin : g_grp
        for (genvar j = 0; j <= P; j++) begin : g_elem
          always_ff @(posedge clk_i) begin
            if (res_write_i && res_slot_i == s[0] && res_col_i == JW'(j)) begin
              data_q[s][l][h*(P+1)+j] <= res_data_i[l][h];
            end else if (y_write_i && y_slot_i == s[0] && y_row_i == LW'(l)) begin
              data_q[s][l][h*(P+1)+j] <= y_data_i[h*(P+1)+j];
            end
          end
        end
      end
    end

    assign slot_empty_o[s] = (state_q[s] == Z_EMPTY);
    assign slot_ready_o[s] = (state_q[s] == Z_READY);
    assign slot_full_o[s]  = (state_q[s] == Z_FULL);
  end

  assign tile_o    = data_q[tile_slot_i];
  assign st_data_o = data_q[st_slot_i][st_row_i];

endmodule
