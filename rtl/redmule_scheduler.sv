// redmule_scheduler: issue control of the CE array.
//
// Role: walks the output tiles (row tile m0 outer, column tile k0 inner, as
// the streamer's sequences) and, inside a tile, the reduction steps
// n = 0 .. N-1, each step taking P+1 issue cycles j = 0 .. P (CE(l, h)
// processes its column h*(P+1)+j in cycle j). A tile thus takes exactly
// N*(P+1) issue cycles, and the next tile follows without a gap when its
// operands are there.
//
// Issue condition (fire): the W row of step n is at the FIFO head, the X
// block holding column n is READY and, on the tile's first cycle, the tile's
// Y/Z slot is READY. If an operand is missing in the middle of a tile the
// whole array stalls (en_o low): a bubble there would break the P+1-cycle
// accumulator loop. Only at a tile boundary, where every accumulator still
// in the pipeline is on its last step, are bubbles issued (en_o high without
// fire) to drain the pipeline.
//
// Result path: a control pipeline of P stages, advancing with en_o, carries
// (valid, last step, j) beside the CE pipelines; when an issue of the last
// step n = N-1 comes out, the array's results are column j of the tile and
// are written into the Y/Z slot; with j = P the tile is complete (FULL).
//
// Timing: fire, en_o and the buffer handshakes are combinational from
// registered state and buffer flags; everything else is registered.
module redmule_scheduler #(
  parameter int unsigned L = 12,
  parameter int unsigned H = 4,
  parameter int unsigned P = 3,
  localparam int unsigned T  = H * (P + 1),
  localparam int unsigned TW = (T > 1) ? $clog2(T) : 1,
  localparam int unsigned JW = (P > 0) ? $clog2(P + 1) : 1
) (
  input  logic          clk_i,
  input  logic          rst_ni,
  input  logic          clear_i,
  input  logic          start_i,
  input  logic [15:0]   m_i,
  input  logic [15:0]   n_i,
  input  logic [15:0]   k_i,
  // W FIFO
  input  logic          w_valid_i,
  output logic          w_pop_o,
  // X buffer
  input  logic [1:0]    x_ready_i,
  output logic          x_slot_o,
  output logic [TW-1:0] x_col_o,
  output logic          x_release_o,
  // Y/Z buffer
  input  logic [1:0]    z_ready_i,
  output logic          tile_slot_o,
  output logic          z_start_o,
  output logic          res_write_o,
  output logic          res_slot_o,
  output logic [JW-1:0] res_col_o,
  output logic          res_done_o,
  // CE array
  output logic          en_o,
  output logic          init_o,
  output logic [JW-1:0] j_o
);

  logic          active_q;
  logic [15:0]   n_q, k0_q, m0_q;
  logic [JW-1:0] j_q;
  logic [TW-1:0] nt_q;        // n mod T: column of the X block
  logic          x_slot_q, z_slot_q, out_slot_q;

  logic boundary, fire, last_j, last_n, last_blk, last_k, last_m;

  assign boundary = (n_q == '0) && (j_q == '0);
  assign last_j   = (j_q == JW'(P));
  assign last_n   = ({1'b0, n_q} + 17'd1) >= {1'b0, n_i};
  assign last_blk = (nt_q == TW'(T - 1)) || last_n;
  assign last_k   = ({1'b0, k0_q} + 17'(T)) >= {1'b0, k_i};
  assign last_m   = ({1'b0, m0_q} + 17'(L)) >= {1'b0, m_i};

  assign fire = active_q && w_valid_i && x_ready_i[x_slot_q] &&
                (!boundary || z_ready_i[z_slot_q]);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      active_q <= 1'b0;
      n_q      <= '0;
      j_q      <= '0;
      nt_q     <= '0;
      k0_q     <= '0;
      m0_q     <= '0;
      x_slot_q <= 1'b0;
      z_slot_q <= 1'b0;
    end else if (clear_i || start_i) begin
      active_q <= start_i && !clear_i;
      n_q      <= '0;
      j_q      <= '0;
      nt_q     <= '0;
      k0_q     <= '0;
      m0_q     <= '0;
      x_slot_q <= 1'b0;
      z_slot_q <= 1'b0;
    end else if (fire) begin
      if (!last_j) begin
        j_q <= j_q + 1'b1;
      end else begin
        j_q <= '0;
        if (last_blk) begin
          nt_q     <= '0;
          x_slot_q <= !x_slot_q;
        end else begin
          nt_q <= nt_q + 1'b1;
        end
        if (!last_n) begin
          n_q <= n_q + 16'd1;
        end else begin
          n_q      <= '0;
          z_slot_q <= !z_slot_q;
          if (!last_k) begin
            k0_q <= k0_q + 16'(T);
          end else begin
            k0_q <= '0;
            if (!last_m) m0_q <= m0_q + 16'(L);
            else         active_q <= 1'b0;
          end
        end
      end
    end
  end

  assign w_pop_o     = fire && last_j;
  assign x_release_o = fire && last_j && last_blk;
  assign x_slot_o    = x_slot_q;
  assign x_col_o     = nt_q;
  assign z_start_o   = fire && boundary;
  assign tile_slot_o = z_slot_q;
  assign init_o      = (n_q == '0);
  assign j_o         = j_q;

  // ---------------------------------------------------------------- control pipeline
  logic          out_valid, out_last;
  logic [JW-1:0] out_j;
  logic          pipe_busy;

  if (P == 0) begin : g_no_pipe
    assign out_valid = fire;
    assign out_last  = last_n;
    assign out_j     = j_q;
    assign pipe_busy = 1'b0;
  end else begin : g_pipe
    logic [P-1:0]          valid_q, last_q;
    logic [P-1:0][JW-1:0]  j_pipe_q;
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        valid_q  <= '0;
        last_q   <= '0;
        j_pipe_q <= '0;
      end else if (clear_i) begin
        valid_q  <= '0;
      end else if (en_o) begin
        valid_q[0]  <= fire;
        last_q[0]   <= last_n;
        j_pipe_q[0] <= j_q;
        for (int unsigned i = 1; i < P; i++) begin
          valid_q[i]  <= valid_q[i-1];
          last_q[i]   <= last_q[i-1];
          j_pipe_q[i] <= j_pipe_q[i-1];
        end
      end
    end
    assign out_valid = valid_q[P-1];
    assign out_last  = last_q[P-1];
    assign out_j     = j_pipe_q[P-1];
    assign pipe_busy = |valid_q;
  end

  assign en_o = fire || (boundary && pipe_busy);

  assign res_write_o = en_o && out_valid && out_last;
  assign res_done_o  = res_write_o && (out_j == JW'(P));
  assign res_slot_o  = out_slot_q;
  assign res_col_o   = out_j;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)                  out_slot_q <= 1'b0;
    else if (clear_i || start_i)  out_slot_q <= 1'b0;
    else if (res_done_o)          out_slot_q <= !out_slot_q;
  end

endmodule
