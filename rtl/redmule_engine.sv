// redmule_engine: the RedMulE datapath and its control, without registers.
//
// Role: takes a job from the register file (job_start_i), computes
//   Z = GEMM-op(X, W, Y)  (spec sections 4-6)
// through one wide TCDM port and pulses job_done_o after the grant of the
// job's last store. Blocks (one module each):
//   redmule_streamer  : TCDM master, four address sequences, casts FP8<->FP16
//   redmule_w_buffer  : W row prefetch FIFO
//   redmule_x_buffer  : X block double buffer (L rows x T reduction indices)
//   redmule_z_buffer  : Y-in / Z-out tile double buffer (L x T)
//   redmule_scheduler : issue control, stalls, result write-back
//   redmule_array     : L x H compute elements (FMA with P registers + min/max)
// Output tile = L rows x T = H*(P+1) columns; each tile takes N*(P+1) issue
// cycles; X/W are prefetched across tile boundaries and Y loads / Z stores
// overlap the compute of the next tile, so a job of large tiles runs at the
// array's rate plus a fixed start/drain overhead.
//
// Timing: job_start_i (cycle t, only while engine_idle_o) latches the job
// registers; the datapath starts in t+1. A job with M, N or K = 0 or a
// format other than FP8/FP16/FP8ALT makes no TCDM request and completes with
// job_done_o in t+1. soft_clear_i aborts at once: every sequence, buffer and
// the port register are cleared (an ungranted request is withdrawn), and the
// engine is idle from the next cycle.
module redmule_engine
  import redmule_pkg::*;
#(
  parameter int unsigned L       = 12,
  parameter int unsigned H       = 4,
  parameter int unsigned P       = 3,
  parameter int unsigned W_DEPTH = 4,
  localparam int unsigned T  = H * (P + 1),
  localparam int unsigned DW = 16 * T + 32,
  localparam int unsigned LW = (L > 1) ? $clog2(L) : 1,
  localparam int unsigned TW = (T > 1) ? $clog2(T) : 1,
  localparam int unsigned JW = (P > 0) ? $clog2(P + 1) : 1
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  // job interface (redmule_regfile)
  input  logic             job_start_i,
  input  logic [31:0]      job_x_ptr_i,
  input  logic [31:0]      job_w_ptr_i,
  input  logic [31:0]      job_z_ptr_i,
  input  logic [15:0]      job_m_i,
  input  logic [15:0]      job_n_i,
  input  logic [15:0]      job_k_i,
  input  logic [2:0]       job_op_i,
  input  logic [2:0]       job_fmt_i,
  input  logic             soft_clear_i,
  output logic             engine_idle_o,
  output logic             job_done_o,
  // TCDM port
  output logic             tcdm_req_o,
  input  logic             tcdm_gnt_i,
  output logic [31:0]      tcdm_add_o,
  output logic             tcdm_wen_o,
  output logic [DW/8-1:0]  tcdm_be_o,
  output logic [DW-1:0]    tcdm_data_o,
  input  logic [DW-1:0]    tcdm_r_data_i,
  input  logic             tcdm_r_valid_i
);

  // ---------------------------------------------------------------- job control
  typedef enum logic [1:0] {E_IDLE, E_RUN, E_EMPTY_DONE} engine_state_e;

  engine_state_e state_q;
  logic          start_q;           // datapath start, the cycle after job_start_i
  logic [31:0]   x_base_q, w_base_q, z_base_q;
  logic [15:0]   m_q, n_q, k_q;
  logic [2:0]    op_q;
  logic          fp8_q, alt_q;
  logic [31:0]   x_row_stride_q, x_tile_stride_q, z_row_stride_q, z_tile_stride_q, blk_bytes_q;
  logic          stream_done;

  logic        job_fp16, job_fmt_ok, job_empty;
  logic [31:0] new_x_row_stride, new_z_row_stride;

  assign job_fp16   = (job_fmt_i == FMT_FP16);
  assign job_fmt_ok = (job_fmt_i == FMT_FP8) || job_fp16 || (job_fmt_i == FMT_FP8ALT);
  assign job_empty  = (job_m_i == '0) || (job_n_i == '0) || (job_k_i == '0) || !job_fmt_ok;
  assign new_x_row_stride = job_fp16 ? {15'd0, job_n_i, 1'b0} : {16'd0, job_n_i};
  assign new_z_row_stride = job_fp16 ? {15'd0, job_k_i, 1'b0} : {16'd0, job_k_i};

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q         <= E_IDLE;
      start_q         <= 1'b0;
      x_base_q        <= '0;
      w_base_q        <= '0;
      z_base_q        <= '0;
      m_q             <= '0;
      n_q             <= '0;
      k_q             <= '0;
      op_q            <= OP_MATMUL;
      fp8_q           <= 1'b0;
      alt_q           <= 1'b0;
      x_row_stride_q  <= '0;
      x_tile_stride_q <= '0;
      z_row_stride_q  <= '0;
      z_tile_stride_q <= '0;
      blk_bytes_q     <= '0;
    end else if (soft_clear_i) begin
      state_q <= E_IDLE;
      start_q <= 1'b0;
    end else begin
      start_q <= 1'b0;
      unique case (state_q)
        E_IDLE: if (job_start_i) begin
          state_q         <= job_empty ? E_EMPTY_DONE : E_RUN;
          start_q         <= !job_empty;
          x_base_q        <= job_x_ptr_i;
          w_base_q        <= job_w_ptr_i;
          z_base_q        <= job_z_ptr_i;
          m_q             <= job_m_i;
          n_q             <= job_n_i;
          k_q             <= job_k_i;
          op_q            <= job_op_i;
          fp8_q           <= !job_fp16;
          alt_q           <= (job_fmt_i == FMT_FP8ALT);
          x_row_stride_q  <= new_x_row_stride;
          x_tile_stride_q <= new_x_row_stride * L;
          z_row_stride_q  <= new_z_row_stride;
          z_tile_stride_q <= new_z_row_stride * L;
          blk_bytes_q     <= job_fp16 ? 32'(2 * T) : 32'(T);
        end
        E_RUN:        if (stream_done) state_q <= E_IDLE;
        E_EMPTY_DONE: state_q <= E_IDLE;
        default:      state_q <= E_IDLE;
      endcase
    end
  end

  assign engine_idle_o = (state_q == E_IDLE);
  assign job_done_o    = (state_q == E_EMPTY_DONE) || ((state_q == E_RUN) && stream_done);

  // buffers and scheduler restart with every job and on a soft clear
  logic clear;
  assign clear = soft_clear_i || start_q;

  // ---------------------------------------------------------------- blocks
  logic                       w_reserve, w_can_reserve, w_push, w_pop, w_valid;
  logic [T-1:0][15:0]         w_head, load_data;
  logic                       x_claim, x_claim_slot, x_write, x_write_slot, x_write_last;
  logic [LW-1:0]              x_write_row;
  logic [1:0]                 x_slot_empty, x_slot_ready;
  logic                       x_rd_slot, x_release;
  logic [TW-1:0]              x_rd_col;
  logic [L-1:0][15:0]         x_col;
  logic                       z_claim, z_claim_slot, y_write, y_slot, y_done;
  logic [LW-1:0]              y_row;
  logic [1:0]                 z_slot_empty, z_slot_ready, z_slot_full;
  logic                       tile_slot, z_start, res_write, res_slot, res_done;
  logic [JW-1:0]              res_col;
  logic [L-1:0][T-1:0][15:0]  y_tile;
  logic [L-1:0][H-1:0][15:0]  results;
  logic                       st_slot, z_release;
  logic [LW-1:0]              st_row;
  logic [T-1:0][15:0]         st_data;
  logic                       array_en, array_init;
  logic [JW-1:0]              array_j;

  redmule_streamer #(.L(L), .H(H), .P(P)) i_streamer (
    .clk_i, .rst_ni,
    .clear_i         (soft_clear_i),
    .start_i         (start_q),
    .x_base_i        (x_base_q),
    .w_base_i        (w_base_q),
    .z_base_i        (z_base_q),
    .m_i             (m_q),
    .n_i             (n_q),
    .k_i             (k_q),
    .matmul_i        (op_q == OP_MATMUL),
    .fp8_i           (fp8_q),
    .alt_i           (alt_q),
    .x_row_stride_i  (x_row_stride_q),
    .x_tile_stride_i (x_tile_stride_q),
    .z_row_stride_i  (z_row_stride_q),
    .z_tile_stride_i (z_tile_stride_q),
    .blk_bytes_i     (blk_bytes_q),
    .tcdm_req_o, .tcdm_gnt_i, .tcdm_add_o, .tcdm_wen_o, .tcdm_be_o, .tcdm_data_o,
    .tcdm_r_data_i, .tcdm_r_valid_i,
    .w_reserve_o     (w_reserve),
    .w_can_reserve_i (w_can_reserve),
    .w_push_o        (w_push),
    .x_claim_o       (x_claim),
    .x_claim_slot_o  (x_claim_slot),
    .x_write_o       (x_write),
    .x_write_slot_o  (x_write_slot),
    .x_write_row_o   (x_write_row),
    .x_write_last_o  (x_write_last),
    .x_slot_empty_i  (x_slot_empty),
    .z_claim_o       (z_claim),
    .z_claim_slot_o  (z_claim_slot),
    .y_write_o       (y_write),
    .y_slot_o        (y_slot),
    .y_row_o         (y_row),
    .y_done_o        (y_done),
    .z_slot_empty_i  (z_slot_empty),
    .z_slot_full_i   (z_slot_full),
    .st_slot_o       (st_slot),
    .st_row_o        (st_row),
    .st_data_i       (st_data),
    .z_release_o     (z_release),
    .load_data_o     (load_data),
    .job_done_o      (stream_done)
  );

  redmule_w_buffer #(.T(T), .DEPTH(W_DEPTH)) i_w_buffer (
    .clk_i, .rst_ni,
    .clear_i       (clear),
    .reserve_i     (w_reserve),
    .can_reserve_o (w_can_reserve),
    .push_i        (w_push),
    .push_data_i   (load_data),
    .pop_i         (w_pop),
    .head_valid_o  (w_valid),
    .head_data_o   (w_head)
  );

  redmule_x_buffer #(.L(L), .T(T)) i_x_buffer (
    .clk_i, .rst_ni,
    .clear_i      (clear),
    .claim_i      (x_claim),
    .claim_slot_i (x_claim_slot),
    .write_i      (x_write),
    .write_slot_i (x_write_slot),
    .write_row_i  (x_write_row),
    .write_data_i (load_data),
    .write_last_i (x_write_last),
    .slot_empty_o (x_slot_empty),
    .rd_slot_i    (x_rd_slot),
    .rd_col_i     (x_rd_col),
    .rd_data_o    (x_col),
    .release_i    (x_release),
    .slot_ready_o (x_slot_ready)
  );

  redmule_z_buffer #(.L(L), .H(H), .P(P)) i_z_buffer (
    .clk_i, .rst_ni,
    .clear_i      (clear),
    .claim_i      (z_claim),
    .claim_slot_i (z_claim_slot),
    .y_write_i    (y_write),
    .y_slot_i     (y_slot),
    .y_row_i      (y_row),
    .y_data_i     (load_data),
    .y_done_i     (y_done),
    .start_i      (z_start),
    .tile_slot_i  (tile_slot),
    .tile_o       (y_tile),
    .res_write_i  (res_write),
    .res_slot_i   (res_slot),
    .res_col_i    (res_col),
    .res_data_i   (results),
    .res_done_i   (res_done),
    .st_slot_i    (st_slot),
    .st_row_i     (st_row),
    .st_data_o    (st_data),
    .release_i    (z_release),
    .slot_empty_o (z_slot_empty),
    .slot_ready_o (z_slot_ready),
    .slot_full_o  (z_slot_full)
  );

  redmule_scheduler #(.L(L), .H(H), .P(P)) i_scheduler (
    .clk_i, .rst_ni,
    .clear_i     (soft_clear_i),
    .start_i     (start_q),
    .m_i         (m_q),
    .n_i         (n_q),
    .k_i         (k_q),
    .w_valid_i   (w_valid),
    .w_pop_o     (w_pop),
    .x_ready_i   (x_slot_ready),
    .x_slot_o    (x_rd_slot),
    .x_col_o     (x_rd_col),
    .x_release_o (x_release),
    .z_ready_i   (z_slot_ready),
    .tile_slot_o (tile_slot),
    .z_start_o   (z_start),
    .res_write_o (res_write),
    .res_slot_o  (res_slot),
    .res_col_o   (res_col),
    .res_done_o  (res_done),
    .en_o        (array_en),
    .init_o      (array_init),
    .j_o         (array_j)
  );

  redmule_array #(.L(L), .H(H), .P(P)) i_array (
    .clk_i, .rst_ni,
    .en_i     (array_en),
    .op_i     (op_q),
    .init_i   (array_init),
    .j_i      (array_j),
    .x_col_i  (x_col),
    .w_row_i  (w_head),
    .y_tile_i (y_tile),
    .res_o    (results)
  );

endmodule
