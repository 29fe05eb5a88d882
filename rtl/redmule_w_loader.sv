// redmule_w_loader: address sequence of the W loads.
//
// Role: one beat per reduction step n of every output tile, in the order the
// scheduler consumes them: for each row tile m0, for each column tile k0,
// for n = 0 .. N-1: the W row segment at w_base + (n*K + k0)*es (T elements;
// the beat always holds w[n][k0], so bytes past the end of the row belong to
// the same access as a byte of W: footprint rule). Addresses are built
// incrementally (no multiplier).
//
// Timing: valid_o/addr_o are registered state; take_i (the streamer commits
// the request this cycle) advances to the next address at the next edge.
// start_i (one cycle after the job parameters are latched) restarts the
// sequence; clear_i stops it.
module redmule_w_loader #(
  parameter int unsigned L = 12,
  parameter int unsigned T = 16
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        start_i,
  input  logic        clear_i,
  input  logic [31:0] w_base_i,
  input  logic [15:0] m_i,
  input  logic [15:0] n_i,
  input  logic [15:0] k_i,
  input  logic [31:0] row_stride_i,  // K * element size
  input  logic [31:0] blk_bytes_i,   // T * element size
  output logic        valid_o,
  output logic [31:0] addr_o,
  input  logic        take_i
);

  logic        active_q;
  logic [15:0] n_q, k0_q, m0_q;
  logic [31:0] row_addr_q, col_addr_q;  // w[n][k0], w[0][k0]
  logic        last_n, last_k, last_m;

  assign last_n = ({1'b0, n_q} + 17'd1) >= {1'b0, n_i};
  assign last_k = ({1'b0, k0_q} + 17'(T)) >= {1'b0, k_i};
  assign last_m = ({1'b0, m0_q} + 17'(L)) >= {1'b0, m_i};

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      active_q   <= 1'b0;
      n_q        <= '0;
      k0_q       <= '0;
      m0_q       <= '0;
      row_addr_q <= '0;
      col_addr_q <= '0;
    end else if (clear_i) begin
      active_q   <= 1'b0;
    end else if (start_i) begin
      active_q   <= 1'b1;
      n_q        <= '0;
      k0_q       <= '0;
      m0_q       <= '0;
      row_addr_q <= w_base_i;
      col_addr_q <= w_base_i;
    end else if (take_i && active_q) begin
      if (!last_n) begin
        n_q        <= n_q + 16'd1;
        row_addr_q <= row_addr_q + row_stride_i;
      end else begin
        n_q <= '0;
        if (!last_k) begin
          k0_q       <= k0_q + 16'(T);
          col_addr_q <= col_addr_q + blk_bytes_i;
          row_addr_q <= col_addr_q + blk_bytes_i;
        end else begin
          k0_q       <= '0;
          col_addr_q <= w_base_i;
          row_addr_q <= w_base_i;
          if (!last_m) m0_q <= m0_q + 16'(L);
          else         active_q <= 1'b0;
        end
      end
    end
  end

  assign valid_o = active_q;
  assign addr_o  = row_addr_q;

endmodule
