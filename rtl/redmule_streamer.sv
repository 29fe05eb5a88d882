// redmule_streamer: the engine's TCDM master (one wide port).
//
// Role: turns four address sequences into one request stream and routes the
// load responses:
//   W loads  (redmule_w_loader)    -> W prefetch FIFO        priority 1
//   Z stores (redmule_tile_walker) <- finished Z tile rows    priority 2
//   X loads  (redmule_x_loader)    -> X block double buffer  priority 3
//   Y loads  (redmule_tile_walker) -> Y/Z tile double buffer priority 4
// A sequence may compete only when its destination has room (W: a FIFO
// entry can be reserved; X / Y: the block's or tile's first row needs an
// EMPTY slot; Z: the tile to store must be FULL). Every stream is bounded by
// its own buffer space and the scheduler drains all of them in order, so
// the fixed priority cannot deadlock; W comes first because the array
// consumes a W row every P+1 cycles. MATMUL does not read Y: its Y walk
// hands the tile slots over in order without touching the port.
//
// Port register: req/add/wen/be/data are flops, loaded when the port is
// free (no request, or the current one granted in this cycle). The next
// request is committed into the register (its sequence advances, its buffer
// space is claimed) and held unchanged until granted (RQ-3, RQ-4); nothing
// reaches the port combinationally from tcdm_gnt_i or tcdm_r_valid_i. With
// an always-granting memory one request goes out per cycle.
//
// Data paths: a beat of DW bits = T payload elements plus one spare 32-bit
// word, so an element-aligned row start (byte offset add[1:0]) always fits.
// FP8 formats use the same beats with T one-byte elements.
// Loads: payload = r_data >> 8*offset, FP8 elements widened to FP16.
// Stores: FP16 rounded to FP8 if needed, shifted left by 8*offset, byte
// enables exactly on the tile's columns < K of that row.
//
// Timing: a load granted in cycle t is answered in t+1 and written into its
// buffer at the end of t+1. job_done_o pulses in the cycle after the grant
// of the job's last store. clear_i (soft clear) withdraws any ungranted
// request at once and forgets pending responses.
module redmule_streamer #(
  parameter int unsigned L       = 12,
  parameter int unsigned H       = 4,
  parameter int unsigned P       = 3,
  localparam int unsigned T  = H * (P + 1),
  localparam int unsigned DW = 16 * T + 32,
  localparam int unsigned LW = (L > 1) ? $clog2(L) : 1,
  localparam int unsigned CW = $clog2(T + 1)
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,
  input  logic                  clear_i,     // soft clear
  input  logic                  start_i,     // job parameters below are valid from now on
  // job parameters (stable during the job)
  input  logic [31:0]           x_base_i,
  input  logic [31:0]           w_base_i,
  input  logic [31:0]           z_base_i,
  input  logic [15:0]           m_i,
  input  logic [15:0]           n_i,
  input  logic [15:0]           k_i,
  input  logic                  matmul_i,    // Y is not read
  input  logic                  fp8_i,       // 1-byte elements
  input  logic                  alt_i,       // FP8ALT (E4M3) rather than FP8 (E5M2)
  input  logic [31:0]           x_row_stride_i,
  input  logic [31:0]           x_tile_stride_i,
  input  logic [31:0]           z_row_stride_i,   // also W's row stride (K elements)
  input  logic [31:0]           z_tile_stride_i,
  input  logic [31:0]           blk_bytes_i,
  // TCDM port
  output logic                  tcdm_req_o,
  input  logic                  tcdm_gnt_i,
  output logic [31:0]           tcdm_add_o,
  output logic                  tcdm_wen_o,
  output logic [DW/8-1:0]       tcdm_be_o,
  output logic [DW-1:0]         tcdm_data_o,
  input  logic [DW-1:0]         tcdm_r_data_i,
  input  logic                  tcdm_r_valid_i,
  // W FIFO
  output logic                  w_reserve_o,
  input  logic                  w_can_reserve_i,
  output logic                  w_push_o,
  // X buffer
  output logic                  x_claim_o,
  output logic                  x_claim_slot_o,
  output logic                  x_write_o,
  output logic                  x_write_slot_o,
  output logic [LW-1:0]         x_write_row_o,
  output logic                  x_write_last_o,
  input  logic [1:0]            x_slot_empty_i,
  // Y / Z buffer
  output logic                  z_claim_o,
  output logic                  z_claim_slot_o,
  output logic                  y_write_o,
  output logic                  y_slot_o,
  output logic [LW-1:0]         y_row_o,
  output logic                  y_done_o,
  input  logic [1:0]            z_slot_empty_i,
  input  logic [1:0]            z_slot_full_i,
  output logic                  st_slot_o,
  output logic [LW-1:0]         st_row_o,
  input  logic [T-1:0][15:0]    st_data_i,
  output logic                  z_release_o,
  // load data for whichever buffer is written (FP16)
  output logic [T-1:0][15:0]    load_data_o,
  // completion
  output logic                  job_done_o
);

  typedef enum logic [1:0] {K_W, K_X, K_Y, K_Z} req_kind_e;

  // ---------------------------------------------------------------- sequences
  logic          w_valid, w_take;
  logic [31:0]   w_addr;
  logic          x_valid, x_take, x_first, x_last;
  logic [31:0]   x_addr;
  logic [LW-1:0] x_row;
  logic          y_valid, y_take, y_first, y_last_row;
  logic [31:0]   y_addr;
  logic [LW-1:0] y_row;
  logic          s_valid, s_take, s_last_row, s_last_tile;
  // Waiver: the two tile walkers share one module; the Y loads need neither
  // the column count nor the last-tile flag, the stores not the first-row flag.
  /* verilator lint_off UNUSEDSIGNAL */
  logic          y_last_tile, s_first;
  logic [CW-1:0] y_cols;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [31:0]   s_addr;
  logic [LW-1:0] s_row;
  logic [CW-1:0] s_cols;

  redmule_w_loader #(.L(L), .T(T)) i_w_loader (
    .clk_i, .rst_ni, .start_i, .clear_i,
    .w_base_i, .m_i, .n_i, .k_i,
    .row_stride_i(z_row_stride_i), .blk_bytes_i,
    .valid_o(w_valid), .addr_o(w_addr), .take_i(w_take)
  );

  redmule_x_loader #(.L(L), .T(T)) i_x_loader (
    .clk_i, .rst_ni, .start_i, .clear_i,
    .x_base_i, .m_i, .n_i, .k_i,
    .row_stride_i(x_row_stride_i), .tile_stride_i(x_tile_stride_i), .blk_bytes_i,
    .valid_o(x_valid), .addr_o(x_addr), .row_o(x_row),
    .first_o(x_first), .last_o(x_last), .take_i(x_take)
  );

  redmule_tile_walker #(.L(L), .T(T)) i_y_walker (
    .clk_i, .rst_ni, .start_i, .clear_i,
    .z_base_i, .m_i, .k_i,
    .row_stride_i(z_row_stride_i), .tile_stride_i(z_tile_stride_i), .blk_bytes_i,
    .valid_o(y_valid), .addr_o(y_addr), .row_o(y_row), .cols_o(y_cols),
    .first_o(y_first), .last_row_o(y_last_row), .last_tile_o(y_last_tile),
    .take_i(y_take)
  );

  redmule_tile_walker #(.L(L), .T(T)) i_z_walker (
    .clk_i, .rst_ni, .start_i, .clear_i,
    .z_base_i, .m_i, .k_i,
    .row_stride_i(z_row_stride_i), .tile_stride_i(z_tile_stride_i), .blk_bytes_i,
    .valid_o(s_valid), .addr_o(s_addr), .row_o(s_row), .cols_o(s_cols),
    .first_o(s_first), .last_row_o(s_last_row), .last_tile_o(s_last_tile),
    .take_i(s_take)
  );

  // slot pointers (each sequence visits the slots in tile / block order)
  logic x_fill_q, y_fill_q, st_q;

  // ---------------------------------------------------------------- arbitration
  logic port_free;
  logic w_cand, s_cand, x_cand, y_cand, y_virtual;

  assign port_free = !tcdm_req_o || tcdm_gnt_i;

  assign w_cand = w_valid && w_can_reserve_i;
  assign s_cand = s_valid && z_slot_full_i[st_q];
  assign x_cand = x_valid && (!x_first || x_slot_empty_i[x_fill_q]);
  assign y_cand = y_valid && (!y_first || z_slot_empty_i[y_fill_q]);

  // MATMUL does not read Y: the Y walk only steps through the tiles to hand
  // the slots over in order, without using the port.
  assign y_virtual = matmul_i && y_cand;

  assign w_take = port_free && w_cand;
  assign s_take = port_free && !w_cand && s_cand;
  assign x_take = port_free && !w_cand && !s_cand && x_cand;
  assign y_take = y_virtual || (port_free && !w_cand && !s_cand && !x_cand && y_cand && !matmul_i);

  assign w_reserve_o    = w_take;
  assign x_claim_o      = x_take && x_first;
  assign x_claim_slot_o = x_fill_q;
  assign z_claim_o      = y_take && y_first;
  assign z_claim_slot_o = y_fill_q;
  assign st_slot_o      = st_q;
  assign st_row_o       = s_row;
  assign z_release_o    = s_take && s_last_row;

  // ---------------------------------------------------------------- store data
  logic [DW-1:0]        st_payload;
  logic [DW/8-1:0]      st_be;
  logic [7:0]           st_bytes;
  logic [T-1:0][7:0]    st_fp8;

  for (genvar i = 0; i < T; i++) begin : g_to_fp8
    redmule_fp16_to_fp8 i_cast (.a_i(st_data_i[i]), .alt_i, .res_o(st_fp8[i]));
  end

  assign st_payload = fp8_i ? DW'(st_fp8) : DW'(st_data_i);
  assign st_bytes   = fp8_i ? 8'(s_cols) : 8'({s_cols, 1'b0});

  always_comb begin
    for (int unsigned b = 0; b < DW / 8; b++) begin
      st_be[b] = (8'(b) >= 8'(s_addr[1:0])) && (8'(b) < 8'(s_addr[1:0]) + st_bytes);
    end
  end

  // ---------------------------------------------------------------- port register
  logic          req_q, wen_q;
  logic [31:0]   add_q;
  logic [DW/8-1:0] be_q;
  logic [DW-1:0] data_q;
  req_kind_e     kind_q;
  logic          slot_q, last_q, job_last_q;
  logic [LW-1:0] row_q;
  logic [1:0]    off_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      req_q      <= 1'b0;
      wen_q      <= 1'b1;
      add_q      <= '0;
      be_q       <= '0;
      data_q     <= '0;
      kind_q     <= K_W;
      slot_q     <= 1'b0;
      last_q     <= 1'b0;
      job_last_q <= 1'b0;
      row_q      <= '0;
      off_q      <= '0;
    end else if (clear_i) begin
      req_q      <= 1'b0;
    end else if (port_free) begin
      req_q      <= w_take || s_take || x_take || (y_take && !matmul_i);
      wen_q      <= !s_take;
      be_q       <= '0;
      job_last_q <= 1'b0;
      last_q     <= 1'b0;
      row_q      <= '0;
      slot_q     <= 1'b0;
      if (w_take) begin
        kind_q <= K_W;
        add_q  <= {w_addr[31:2], 2'b00};
        off_q  <= w_addr[1:0];
      end else if (s_take) begin
        kind_q     <= K_Z;
        add_q      <= {s_addr[31:2], 2'b00};
        off_q      <= s_addr[1:0];
        be_q       <= st_be;
        data_q     <= st_payload << (8 * s_addr[1:0]);
        job_last_q <= s_last_row && s_last_tile;
      end else if (x_take) begin
        kind_q <= K_X;
        add_q  <= {x_addr[31:2], 2'b00};
        off_q  <= x_addr[1:0];
        slot_q <= x_fill_q;
        row_q  <= x_row;
        last_q <= x_last;
      end else begin
        kind_q <= K_Y;
        add_q  <= {y_addr[31:2], 2'b00};
        off_q  <= y_addr[1:0];
        slot_q <= y_fill_q;
        row_q  <= y_row;
        last_q <= y_last_row;
      end
    end
  end

  // slot pointers advance with the block's / tile's last row
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      x_fill_q <= 1'b0;
      y_fill_q <= 1'b0;
      st_q     <= 1'b0;
    end else if (clear_i || start_i) begin
      x_fill_q <= 1'b0;
      y_fill_q <= 1'b0;
      st_q     <= 1'b0;
    end else begin
      if (x_take && x_last)     x_fill_q <= !x_fill_q;
      if (y_take && y_last_row) y_fill_q <= !y_fill_q;
      if (s_take && s_last_row) st_q     <= !st_q;
    end
  end

  assign tcdm_req_o  = req_q;
  assign tcdm_add_o  = add_q;
  assign tcdm_wen_o  = wen_q;
  assign tcdm_be_o   = be_q;
  assign tcdm_data_o = data_q;

  // ---------------------------------------------------------------- responses
  logic          resp_q;       // a load was granted in the previous cycle
  req_kind_e     resp_kind_q;
  logic          resp_slot_q, resp_last_q;
  logic [LW-1:0] resp_row_q;
  logic [1:0]    resp_off_q;
  logic          done_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      resp_q      <= 1'b0;
      resp_kind_q <= K_W;
      resp_slot_q <= 1'b0;
      resp_last_q <= 1'b0;
      resp_row_q  <= '0;
      resp_off_q  <= '0;
      done_q      <= 1'b0;
    end else if (clear_i) begin
      resp_q      <= 1'b0;
      done_q      <= 1'b0;
    end else begin
      resp_q      <= req_q && tcdm_gnt_i && wen_q;
      resp_kind_q <= kind_q;
      resp_slot_q <= slot_q;
      resp_last_q <= last_q;
      resp_row_q  <= row_q;
      resp_off_q  <= off_q;
      done_q      <= req_q && tcdm_gnt_i && !wen_q && job_last_q;
    end
  end

  logic          resp_valid;
  logic [16*T-1:0] resp_payload;  // the T elements of the beat (the spare word only shifts)

  assign resp_valid   = resp_q && tcdm_r_valid_i;
  assign resp_payload = (16*T)'(tcdm_r_data_i >> (8 * resp_off_q));

  for (genvar i = 0; i < T; i++) begin : g_from_fp8
    logic [15:0] widened;
    redmule_fp8_to_fp16 i_cast (.a_i(resp_payload[8*i +: 8]), .alt_i, .res_o(widened));
    assign load_data_o[i] = fp8_i ? widened : resp_payload[16*i +: 16];
  end

  assign w_push_o       = resp_valid && (resp_kind_q == K_W);
  assign x_write_o      = resp_valid && (resp_kind_q == K_X);
  assign x_write_slot_o = resp_slot_q;
  assign x_write_row_o  = resp_row_q;
  assign x_write_last_o = resp_last_q;
  assign y_write_o      = resp_valid && (resp_kind_q == K_Y);
  assign y_slot_o       = matmul_i ? y_fill_q : resp_slot_q;
  assign y_row_o        = resp_row_q;
  assign y_done_o       = matmul_i ? (y_take && y_last_row) : (y_write_o && resp_last_q);

  assign job_done_o = done_q;

endmodule
