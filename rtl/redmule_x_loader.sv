// redmule_x_loader: address sequence of the X loads.
//
// Role: one beat per tile row per X block, in the order the scheduler
// consumes the blocks: for each row tile m0, for each column tile k0, for
// each block n0 = 0, T, 2T, .. < N, for each row l of the tile with
// m0 + l < M (rows beyond M are never loaded): the beat at
// x_base + ((m0+l)*N + n0)*es, which holds x[m0+l][n0 .. n0+T-1] (it always
// holds x[m0+l][n0]: footprint rule). first_o marks the block's first row
// (the streamer claims an X slot with it), last_o its last row (the block is
// complete with that row's response).
//
// Timing: outputs are registered state; take_i advances at the next edge;
// start_i restarts, clear_i stops.
module redmule_x_loader #(
  parameter int unsigned L = 12,
  parameter int unsigned T = 16,
  localparam int unsigned LW = (L > 1) ? $clog2(L) : 1
) (
  input  logic          clk_i,
  input  logic          rst_ni,
  input  logic          start_i,
  input  logic          clear_i,
  input  logic [31:0]   x_base_i,
  input  logic [15:0]   m_i,
  input  logic [15:0]   n_i,
  input  logic [15:0]   k_i,
  input  logic [31:0]   row_stride_i,   // N * element size
  input  logic [31:0]   tile_stride_i,  // L * N * element size
  input  logic [31:0]   blk_bytes_i,    // T * element size
  output logic          valid_o,
  output logic [31:0]   addr_o,
  output logic [LW-1:0] row_o,
  output logic          first_o,
  output logic          last_o,
  input  logic          take_i
);

  logic          active_q;
  logic [LW-1:0] l_q;
  logic [15:0]   n0_q, k0_q, m0_q;
  logic [31:0]   addr_q;       // x[m0+l][n0]
  logic [31:0]   blk_addr_q;   // x[m0][n0]
  logic [31:0]   tile_addr_q;  // x[m0][0]
  logic          last_l, last_nb, last_k, last_m;

  assign last_l  = (l_q == LW'(L - 1)) ||
                   (({1'b0, m0_q} + 17'(l_q) + 17'd1) >= {1'b0, m_i});
  assign last_nb = ({1'b0, n0_q} + 17'(T)) >= {1'b0, n_i};
  assign last_k  = ({1'b0, k0_q} + 17'(T)) >= {1'b0, k_i};
  assign last_m  = ({1'b0, m0_q} + 17'(L)) >= {1'b0, m_i};

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      active_q    <= 1'b0;
      l_q         <= '0;
      n0_q        <= '0;
      k0_q        <= '0;
      m0_q        <= '0;
      addr_q      <= '0;
      blk_addr_q  <= '0;
      tile_addr_q <= '0;
    end else if (clear_i) begin
      active_q    <= 1'b0;
    end else if (start_i) begin
      active_q    <= 1'b1;
      l_q         <= '0;
      n0_q        <= '0;
      k0_q        <= '0;
      m0_q        <= '0;
      addr_q      <= x_base_i;
      blk_addr_q  <= x_base_i;
      tile_addr_q <= x_base_i;
    end else if (take_i && active_q) begin
      if (!last_l) begin
        l_q    <= l_q + 1'b1;
        addr_q <= addr_q + row_stride_i;
      end else begin
        l_q <= '0;
        if (!last_nb) begin
          n0_q       <= n0_q + 16'(T);
          blk_addr_q <= blk_addr_q + blk_bytes_i;
          addr_q     <= blk_addr_q + blk_bytes_i;
        end else begin
          n0_q <= '0;
          if (!last_k) begin
            k0_q       <= k0_q + 16'(T);
            blk_addr_q <= tile_addr_q;
            addr_q     <= tile_addr_q;
          end else begin
            k0_q        <= '0;
            tile_addr_q <= tile_addr_q + tile_stride_i;
            blk_addr_q  <= tile_addr_q + tile_stride_i;
            addr_q      <= tile_addr_q + tile_stride_i;
            if (!last_m) m0_q <= m0_q + 16'(L);
            else         active_q <= 1'b0;
          end
        end
      end
    end
  end

  assign valid_o = active_q;
  assign addr_o  = addr_q;
  assign row_o   = l_q;
  assign first_o = (l_q == '0);
  assign last_o  = last_l;

endmodule
