// redmule_w_buffer: prefetch FIFO of W rows.
//
// Role: each entry is one W row segment w[n][k0 .. k0+T-1] (one memory beat,
// cast to FP16). The scheduler consumes one entry per reduction step (every
// P+1 issue cycles); the streamer keeps the FIFO topped up across tile
// boundaries, so the array never waits for W while the port keeps up.
//
// Space is accounted at request time: the streamer reserves an entry when it
// commits a W load (can_reserve_o), the entry is written by the load response
// (push) and freed by the scheduler (pop). So requests in flight never
// overflow the FIFO.
//
// Timing: push/pop/reserve take effect at the next rising edge; head_* are
// registered state (entry contents), not combinational from push.
module redmule_w_buffer #(
  parameter int unsigned T     = 16,
  parameter int unsigned DEPTH = 4,
  localparam int unsigned AW = (DEPTH > 1) ? $clog2(DEPTH) : 1,
  localparam int unsigned CW = $clog2(DEPTH + 1)
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  input  logic                 clear_i,
  input  logic                 reserve_i,
  output logic                 can_reserve_o,
  input  logic                 push_i,
  input  logic [T-1:0][15:0]   push_data_i,
  input  logic                 pop_i,
  output logic                 head_valid_o,
  output logic [T-1:0][15:0]   head_data_o
);

  logic [T-1:0][15:0] mem_q [DEPTH];
  logic [AW-1:0]      wr_ptr_q, rd_ptr_q;
  logic [CW-1:0]      count_q;     // entries holding data
  logic [CW-1:0]      reserved_q;  // entries holding data or awaited from memory

  function automatic logic [AW-1:0] ptr_inc(logic [AW-1:0] p);
    return (p == AW'(DEPTH - 1)) ? '0 : p + 1'b1;
  endfunction

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wr_ptr_q   <= '0;
      rd_ptr_q   <= '0;
      count_q    <= '0;
      reserved_q <= '0;
    end else if (clear_i) begin
      wr_ptr_q   <= '0;
      rd_ptr_q   <= '0;
      count_q    <= '0;
      reserved_q <= '0;
    end else begin
      if (push_i) wr_ptr_q <= ptr_inc(wr_ptr_q);
      if (pop_i)  rd_ptr_q <= ptr_inc(rd_ptr_q);
      count_q    <= count_q + CW'(push_i) - CW'(pop_i);
      reserved_q <= reserved_q + CW'(reserve_i) - CW'(pop_i);
    end
  end

  always_ff @(posedge clk_i) begin
    if (push_i) mem_q[wr_ptr_q] <= push_data_i;
  end

  assign can_reserve_o = (reserved_q < CW'(DEPTH));
  assign head_valid_o  = (count_q != '0);
  assign head_data_o   = mem_q[rd_ptr_q];

endmodule
