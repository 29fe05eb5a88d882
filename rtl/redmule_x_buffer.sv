// redmule_x_buffer: double-buffered X operand store.
//
// Role: each of the 2 slots holds one X block: L rows x T consecutive
// reduction indices, x[m0+l][n0 .. n0+T-1], as loaded by the streamer (one
// memory beat per row). While the scheduler reads one slot column by column
// (column n mod T = x[m0..m0+L-1][n], broadcast to the array rows), the
// streamer fills the other one with the next block.
//
// Slot life cycle (each slot on its own): EMPTY --claim--> LOADING
// --write with last--> READY --release--> EMPTY. The streamer claims a slot
// when it commits the first row's request and marks it READY with the last
// row's load response; the scheduler releases it after the last step that
// uses the block. Rows beyond M are never loaded (their contents are stale
// and their results are never stored).
//
// Timing: writes and state changes take effect at the next rising edge; the
// read port is combinational from the slot contents.
module redmule_x_buffer #(
  parameter int unsigned L = 12,
  parameter int unsigned T = 16,
  localparam int unsigned LW = (L > 1) ? $clog2(L) : 1,
  localparam int unsigned TW = (T > 1) ? $clog2(T) : 1
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  input  logic                 clear_i,       // drop every block (job start, soft clear)
  // fill side (streamer)
  input  logic                 claim_i,
  input  logic                 claim_slot_i,
  input  logic                 write_i,
  input  logic                 write_slot_i,
  input  logic [LW-1:0]        write_row_i,
  input  logic [T-1:0][15:0]   write_data_i,
  input  logic                 write_last_i,  // this write completes the block
  output logic [1:0]           slot_empty_o,
  // consume side (scheduler)
  input  logic                 rd_slot_i,
  input  logic [TW-1:0]        rd_col_i,
  output logic [L-1:0][15:0]   rd_data_o,
  input  logic                 release_i,     // releases slot rd_slot_i
  output logic [1:0]           slot_ready_o
);

  typedef enum logic [1:0] {X_EMPTY, X_LOADING, X_READY} x_slot_state_e;

  x_slot_state_e           state_q [2];
  logic [L-1:0][T-1:0][15:0] data_q [2];

  for (genvar s = 0; s < 2; s++) begin : g_slot
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        state_q[s] <= X_EMPTY;
      end else if (clear_i) begin
        state_q[s] <= X_EMPTY;
      end else begin
        unique case (state_q[s])
          X_EMPTY:   if (claim_i && claim_slot_i == s[0]) state_q[s] <= X_LOADING;
          X_LOADING: if (write_i && write_last_i && write_slot_i == s[0]) state_q[s] <= X_READY;
          X_READY:   if (release_i && rd_slot_i == s[0]) state_q[s] <= X_EMPTY;
          default:   state_q[s] <= X_EMPTY;
        endcase
      end
    end

    // data: no reset needed (never read before written within a job)
    always_ff @(posedge clk_i) begin
      if (write_i && write_slot_i == s[0]) data_q[s][write_row_i] <= write_data_i;
    end

    assign slot_empty_o[s] = (state_q[s] == X_EMPTY);
    assign slot_ready_o[s] = (state_q[s] == X_READY);
  end

  for (genvar l = 0; l < L; l++) begin : g_read
    assign rd_data_o[l] = data_q[rd_slot_i][l][rd_col_i];
  end

endmodule
