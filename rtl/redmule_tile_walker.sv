// redmule_tile_walker: address sequence of the Y loads and of the Z stores.
//
// Role: walks the output tiles in the scheduler's order (row tile m0 outer,
// column tile k0 inner) and, within a tile, its rows l with m0 + l < M
// (rows beyond M are neither loaded nor stored): the beat at
// z_base + ((m0+l)*K + k0)*es, holding z[m0+l][k0 .. k0+cols_o-1] where
// cols_o = min(T, K - k0) columns belong to the tile. One instance sequences
// the Y loads, another the Z stores (same addresses, Y and Z are in place).
// first_o / last_row_o mark the tile's first / last row, last_tile_o the
// job's last tile.
//
// Timing: outputs are registered state (cols_o and the last flags are
// combinational from that state); take_i advances at the next edge; start_i
// restarts, clear_i stops.
module redmule_tile_walker #(
  parameter int unsigned L = 12,
  parameter int unsigned T = 16,
  localparam int unsigned LW = (L > 1) ? $clog2(L) : 1,
  localparam int unsigned CW = $clog2(T + 1)
) (
  input  logic          clk_i,
  input  logic          rst_ni,
  input  logic          start_i,
  input  logic          clear_i,
  input  logic [31:0]   z_base_i,
  input  logic [15:0]   m_i,
  input  logic [15:0]   k_i,
  input  logic [31:0]   row_stride_i,   // K * element size
  input  logic [31:0]   tile_stride_i,  // L * K * element size
  input  logic [31:0]   blk_bytes_i,    // T * element size
  output logic          valid_o,
  output logic [31:0]   addr_o,
  output logic [LW-1:0] row_o,
  output logic [CW-1:0] cols_o,
  output logic          first_o,
  output logic          last_row_o,
  output logic          last_tile_o,
  input  logic          take_i
);

  logic          active_q;
  logic [LW-1:0] l_q;
  logic [15:0]   k0_q, m0_q;
  logic [31:0]   addr_q;      // z[m0+l][k0]
  logic [31:0]   col_addr_q;  // z[m0][k0]
  logic [31:0]   row_addr_q;  // z[m0][0]
  logic          last_l, last_k, last_m;

  assign last_l = (l_q == LW'(L - 1)) ||
                  (({1'b0, m0_q} + 17'(l_q) + 17'd1) >= {1'b0, m_i});
  assign last_k = ({1'b0, k0_q} + 17'(T)) >= {1'b0, k_i};
  assign last_m = ({1'b0, m0_q} + 17'(L)) >= {1'b0, m_i};

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      active_q   <= 1'b0;
      l_q        <= '0;
      k0_q       <= '0;
      m0_q       <= '0;
      addr_q     <= '0;
      col_addr_q <= '0;
      row_addr_q <= '0;
    end else if (clear_i) begin
      active_q   <= 1'b0;
    end else if (start_i) begin
      active_q   <= 1'b1;
      l_q        <= '0;
      k0_q       <= '0;
      m0_q       <= '0;
      addr_q     <= z_base_i;
      col_addr_q <= z_base_i;
      row_addr_q <= z_base_i;
    end else if (take_i && active_q) begin
      if (!last_l) begin
        l_q    <= l_q + 1'b1;
        addr_q <= addr_q + row_stride_i;
      end else begin
        l_q <= '0;
        if (!last_k) begin
          k0_q       <= k0_q + 16'(T);
          col_addr_q <= col_addr_q + blk_bytes_i;
          addr_q     <= col_addr_q + blk_bytes_i;
        end else begin
          k0_q       <= '0;
          row_addr_q <= row_addr_q + tile_stride_i;
          col_addr_q <= row_addr_q + tile_stride_i;
          addr_q     <= row_addr_q + tile_stride_i;
          if (!last_m) m0_q <= m0_q + 16'(L);
          else         active_q <= 1'b0;
        end
      end
    end
  end

  assign valid_o     = active_q;
  assign addr_o      = addr_q;
  assign row_o       = l_q;
  assign cols_o      = last_k ? CW'(k_i - k0_q) : CW'(T);
  assign first_o     = (l_q == '0);
  assign last_row_o  = last_l;
  assign last_tile_o = last_k && last_m;

endmodule
