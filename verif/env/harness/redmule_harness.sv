// redmule_harness: the testbench shell around a RedMulE DUT (not design code).
//
// The Python environment drives the register port and reads results at the
// level of transactions; everything that must happen on every clock lives
// here, so that Python only wakes up for register accesses, events and ends
// of jobs:
//   * the cluster's L1 (TCDM) as a word array with a fixed one-cycle load
//     latency, served through the DUT's wide port (backdoor: the array `mem`
//     is visible to cocotb as a top-level signal);
//   * a grant generator with four profiles (always, random with probability
//     p, bursty on/off, bank contention from the cluster cores) and a
//     max-stall setting, plus a histogram of stall lengths;
//   * a protocol checker for the rules of the spec's section 2 (RQ-3
//     stability, RQ-4 no retire, word alignment, RESP: a load response is
//     never held back, COMB: request outputs not combinational on grant or
//     r_valid, BUSY: busy_o against the job state) that counts violations
//     and logs each with cycle and values;
//   * counters of everything it sees (granted loads and stores, event bits
//     per cycle, register requests and responses, violations), which the
//     monitors cross-check against what they observed: a lost trace line,
//     a held or doubled event pulse or a stray response is an error;
//   * a trace of every accepted TCDM access and every event (one text line
//     each, file given by +tcdm_log=PATH) for the transaction-level monitor;
//   * a progress watchdog that raises `hang_o` when a job makes no progress;
//   * a restart input (`restart_i`, a pulse while the clock is stopped): every
//     harness register back to its time-0 value (cycle counter, counters,
//     random streams, memory words) and the trace file reopened (truncated), so
//     that one simulator process can run many tests one after another, each
//     seeing exactly what it would see in a fresh process.
// The DUT is instantiated only through its port contract. Its module name is
// `DUT_MODULE (default redmule); define DUT_NO_PARAMS for a top without the
// L/H/P/N_CORES/ID_WIDTH parameters.

`ifndef DUT_MODULE
`define DUT_MODULE redmule
`endif

module redmule_harness #(
  parameter int unsigned L         = 12,
  parameter int unsigned H         = 4,
  parameter int unsigned P         = 3,
  parameter int unsigned N_CORES   = 8,
  parameter int unsigned ID_WIDTH  = 8,
  parameter int unsigned MEM_BASE  = 32'h1000_0000,
  parameter int unsigned MEM_WORDS = 32768,
  parameter int unsigned DW        = 16 * H * (P + 1) + 32
) (
  input  logic                      clk_i,
  input  logic                      rst_ni,
  // register port, passed through to the DUT
  input  logic                      periph_req_i,
  output logic                      periph_gnt_o,
  input  logic [31:0]               periph_add_i,
  input  logic                      periph_wen_i,
  input  logic [3:0]                periph_be_i,
  input  logic [31:0]               periph_data_i,
  input  logic [ID_WIDTH-1:0]       periph_id_i,
  output logic                      periph_r_valid_o,
  output logic [31:0]               periph_r_data_o,
  output logic [ID_WIDTH-1:0]       periph_r_id_o,
  output logic                      busy_o,
  output logic [N_CORES*2-1:0]      evt_o,
  // grant profile (set by the memory responder between jobs)
  input  logic [1:0]                gnt_mode_i,      // 0 always, 1 random, 2 bursty, 3 banks
  input  logic [15:0]               gnt_p_i,         // random: grant probability * 65536
  input  logic [15:0]               gnt_on_i,        // bursty: mean granting run (cycles)
  input  logic [15:0]               gnt_off_i,       // bursty: mean refusing run (cycles)
  input  logic [15:0]               gnt_core_rate_i, // banks: per-core access probability * 65536
  input  logic [5:0]                gnt_n_banks_i,   // banks: number of 32-bit banks (1..32)
  input  logic [3:0]                gnt_n_cores_i,   // banks: number of cluster cores (0..8)
  input  logic [31:0]               gnt_max_stall_i, // 0 = unlimited
  input  logic [31:0]               gnt_seed_i,
  input  logic                      gnt_reseed_i,    // load gnt_seed_i into the generator
  input  logic                      store_resp_i,    // answer stores with r_valid too
  // checks
  input  logic                      waive_rq4_i,     // SOFT_CLEAR window: a request may be withdrawn
  input  logic                      job_active_i,    // a job is outstanding (watchdog armed)
  input  logic [31:0]               hang_limit_i,    // cycles of offered grants without progress
  input  logic [63:0]               budget_limit_i,  // granting cycles a job may take (0 = none)
  input  logic                      progress_clr_i,  // restart the watchdog counters
  input  logic                      flush_i,         // flush the trace file (the monitor is about to read it)
  input  logic                      probe_i,         // COMB probe: decoy grant/r_valid in the first half of each cycle
  input  logic [15:0]               busy_slack_i,    // BUSY: cycles busy_o may disagree with the job state (0 = off)
  input  logic                      restart_i,       // batch worker: back to the time-0 state (clock stopped)
  output logic                      hang_o,
  output logic [1:0]                hang_cause_o,    // 1 no progress, 2 over budget
  output logic [63:0]               cycle_o,
  output logic [31:0]               proto_errs_o,
  output logic [31:0]               n_loads_o,
  output logic [31:0]               n_stores_o,
  output logic [31:0]               since_hs_o,      // cycles since the last TCDM handshake
  output logic [31:0]               last_add_o,
  output logic                      last_wen_o,
  output logic                      tcdm_req_o,
  output logic [63:0]               gnt_cycles_o,    // cycles the memory offered a grant while armed
  output logic [31:0]               n_evt_o,         // evt_o bits seen high, summed over cycles (a pulse is 1)
  output logic [31:0]               n_preq_o,        // granted register requests
  output logic [31:0]               n_presp_o,       // cycles with periph_r_valid_o
  output logic                      trace_on_o       // the trace file is open
);
  localparam int unsigned NW = DW / 32;

  // ------------------------------------------------------------------ DUT
  logic                 tcdm_req, tcdm_gnt, tcdm_wen, tcdm_r_valid, tcdm_r_ready;
  logic [31:0]          tcdm_add;
  logic [DW/8-1:0]      tcdm_be;
  logic [DW-1:0]        tcdm_data, tcdm_r_data;
  logic [N_CORES-1:0][1:0] evt;
  logic                 gnt_pin, rvalid_pin;  // what the DUT sees (decoys in the probe phase)

`ifdef DUT_NO_PARAMS
  `DUT_MODULE i_dut (
`else
  `DUT_MODULE #(.L(L), .H(H), .P(P), .N_CORES(N_CORES), .ID_WIDTH(ID_WIDTH)) i_dut (
`endif
    .clk_i, .rst_ni, .test_mode_i(1'b0), .busy_o, .evt_o(evt),
    .periph_req_i, .periph_gnt_o, .periph_add_i, .periph_wen_i, .periph_be_i, .periph_data_i,
    .periph_id_i, .periph_r_valid_o, .periph_r_data_o, .periph_r_id_o,
    .tcdm_req_o(tcdm_req), .tcdm_gnt_i(gnt_pin), .tcdm_add_o(tcdm_add), .tcdm_wen_o(tcdm_wen),
    .tcdm_be_o(tcdm_be), .tcdm_data_o(tcdm_data), .tcdm_r_ready_o(tcdm_r_ready),
    .tcdm_r_data_i(tcdm_r_data), .tcdm_r_valid_i(rvalid_pin)
  );
  assign evt_o = evt;
  assign tcdm_req_o = tcdm_req;

  // ------------------------------------------------------------------ trace file
  int fd;
  string log_path;
  initial begin
    fd = 0;
    if ($value$plusargs("tcdm_log=%s", log_path)) fd = $fopen(log_path, "w");
  end
  final if (fd != 0) $fclose(fd);
  always @(posedge restart_i) begin
    if (fd != 0) $fclose(fd);
    fd = (log_path != "") ? $fopen(log_path, "w") : 0;
  end
  assign trace_on_o = fd != 0;

  // ------------------------------------------------------------------ cycle counter
  logic [63:0] cycle_q;
  always @(posedge clk_i or posedge restart_i) cycle_q <= restart_i ? 64'd0 : cycle_q + 64'd1;
  initial cycle_q = '0;
  assign cycle_o = cycle_q;

  // ------------------------------------------------------------------ random source
  // xorshift32 streams; reseeded from Python at each job so that a job's grant
  // pattern depends only on its own seed.
  function automatic logic [31:0] xs32(input logic [31:0] s);
    logic [31:0] x;
    x = s;
    x = x ^ (x << 13);
    x = x ^ (x >> 17);
    x = x ^ (x << 5);
    return x;
  endfunction

  logic [31:0] rnd_q, rnd2_q;
  logic [31:0] core_rnd_q [8];
  always @(posedge clk_i or posedge restart_i) begin
    if (restart_i) begin
      rnd_q  <= '0;
      rnd2_q <= '0;
      for (int c = 0; c < 8; c++) core_rnd_q[c] <= '0;
    end else if (gnt_reseed_i) begin
      rnd_q  <= (gnt_seed_i == 0) ? 32'h1234_5678 : gnt_seed_i;
      rnd2_q <= xs32(gnt_seed_i ^ 32'h9E37_79B9);
      for (int c = 0; c < 8; c++) core_rnd_q[c] <= xs32(gnt_seed_i + 32'h7F4A_7C15 * (c + 1));
    end else begin
      rnd_q  <= xs32(rnd_q);
      rnd2_q <= xs32(rnd2_q);
      for (int c = 0; c < 8; c++) core_rnd_q[c] <= xs32(core_rnd_q[c]);
    end
  end

  // bursty: a two-state chain, leaving "on" with probability 1/on and "off" with 1/off
  logic burst_on_q;
  always @(posedge clk_i or posedge restart_i) begin
    if (restart_i) burst_on_q <= 1'b0;
    else if (gnt_reseed_i) burst_on_q <= 1'b1;
    else if (burst_on_q) begin
      if (gnt_on_i <= 16'd1 || rnd2_q[15:0] < 16'(32'd65536 / gnt_on_i)) burst_on_q <= 1'b0;
    end else begin
      if (gnt_off_i <= 16'd1 || rnd2_q[15:0] < 16'(32'd65536 / gnt_off_i)) burst_on_q <= 1'b1;
    end
  end

  // banks: each cluster core touches one random bank with probability core_rate
  logic [31:0] bank_busy;
  always_comb begin
    bank_busy = '0;
    for (int c = 0; c < 8; c++)
      if (c < int'(gnt_n_cores_i) && core_rnd_q[c][15:0] < gnt_core_rate_i && gnt_n_banks_i != 0)
        bank_busy[32'(core_rnd_q[c][31:16]) % 32'(gnt_n_banks_i)] = 1'b1;
  end
  // banks touched by the wide access: NW consecutive words, word-interleaved
  logic [31:0] req_banks;
  always_comb begin
    req_banks = '0;
    if (gnt_n_banks_i != 0)
      for (int w = 0; w < int'(NW); w++)
        req_banks[(32'(tcdm_add[31:2]) + 32'(w)) % 32'(gnt_n_banks_i)] = 1'b1;
  end

  logic offer;  // the memory would grant this cycle
  logic [31:0] stall_q;
  always_comb begin
    unique case (gnt_mode_i)
      2'd0: offer = 1'b1;
      2'd1: offer = (rnd_q[15:0] < gnt_p_i) || (gnt_p_i == 16'hFFFF);
      2'd2: offer = burst_on_q;
      default: offer = (req_banks & bank_busy) == '0;
    endcase
    if (gnt_max_stall_i != 0 && stall_q >= gnt_max_stall_i) offer = 1'b1;
  end
  assign tcdm_gnt = tcdm_req & offer;

  // COMB probe: the request outputs must depend on the DUT's state only (spec
  // section 2). In the first half of every cycle (probe_q, set at the rising
  // edge and cleared at the falling edge) the DUT sees a decoy grant and a
  // decoy r_valid; the falling edge samples the request outputs under the
  // decoys, and the rising edge compares them with the outputs under the real
  // values. The DUT's flops only ever sample the real values.
  logic probe_q;
  initial probe_q = 1'b0;
  always @(posedge clk_i or posedge restart_i) probe_q <= restart_i ? 1'b0 : probe_i;
  always @(negedge clk_i) probe_q <= 1'b0;
  assign gnt_pin    = probe_q ? ~offer : tcdm_gnt;
  assign rvalid_pin = probe_q ? ~tcdm_r_valid : tcdm_r_valid;

  // stall histogram: consecutive refused cycles before each grant (63 = 63 or more)
  logic [31:0] stall_hist [64];
  initial for (int i = 0; i < 64; i++) stall_hist[i] = 0;
  initial stall_q = 0;
  always @(posedge clk_i or posedge restart_i) begin
    if (restart_i) begin
      stall_q <= 0;
      for (int i = 0; i < 64; i++) stall_hist[i] <= 0;
    end else if (tcdm_req && !tcdm_gnt) stall_q <= stall_q + 1;
    else if (tcdm_req && tcdm_gnt) begin
      stall_hist[(stall_q > 63) ? 63 : stall_q[5:0]] <= stall_hist[(stall_q > 63) ? 63 : stall_q[5:0]] + 1;
      stall_q <= 0;
    end else stall_q <= 0;
  end

  // ------------------------------------------------------------------ memory
  logic [31:0] mem [MEM_WORDS];
  initial for (int i = 0; i < int'(MEM_WORDS); i++) mem[i] = 32'h0;

  function automatic logic in_range(input logic [31:0] word_idx);
    return word_idx < MEM_WORDS;
  endfunction

  logic            rvalid_q;
  logic [DW-1:0]   rdata_q;
  logic [31:0]     n_loads_q, n_stores_q;
  initial begin n_loads_q = 0; n_stores_q = 0; rvalid_q = 0; rdata_q = '0; end
  always @(posedge clk_i or posedge restart_i) begin
    if (restart_i) begin
      rvalid_q <= 1'b0;
      rdata_q <= '0;
      n_loads_q <= 0;
      n_stores_q <= 0;
      for (int i = 0; i < int'(MEM_WORDS); i++) mem[i] <= 32'h0;
    end else begin
    rvalid_q <= 1'b0;
    if (tcdm_req && tcdm_gnt) begin
      logic [31:0] base_idx;
      base_idx = (tcdm_add - MEM_BASE) >> 2;
      if (tcdm_wen) begin
        rvalid_q <= 1'b1;
        for (int w = 0; w < int'(NW); w++)
          rdata_q[w*32 +: 32] <= in_range(base_idx + 32'(w)) ? mem[base_idx + 32'(w)] : 32'hBADD_A7A0;
        n_loads_q <= n_loads_q + 1;
      end else begin
        rvalid_q <= store_resp_i;
        for (int w = 0; w < int'(NW); w++)
          if (in_range(base_idx + 32'(w)))
            for (int b = 0; b < 4; b++)
              if (tcdm_be[w*4+b]) mem[base_idx + 32'(w)][b*8 +: 8] <= tcdm_data[w*32 + b*8 +: 8];
        n_stores_q <= n_stores_q + 1;
      end
      if (fd != 0) begin
        if (tcdm_wen) $fwrite(fd, "A %0d L %08h\n", cycle_q, tcdm_add);
        else $fwrite(fd, "A %0d S %08h %0h %0h\n", cycle_q, tcdm_add, tcdm_be, tcdm_data);
      end
    end
    if (fd != 0 && flush_i) $fflush(fd);  // after this edge's line: a flush request sees everything counted
    end
  end
  assign tcdm_r_valid = rvalid_q;
  assign tcdm_r_data  = rvalid_q ? rdata_q : {(DW/32){32'hDEAD_BEEF}};
  assign n_loads_o  = n_loads_q;
  assign n_stores_o = n_stores_q;

  // events: one trace line per pulse, with its cycle; the trace is flushed at
  // each event and on request so that the monitor reads whole lines. Event
  // bits are counted per cycle: a pulse held for two cycles counts 2.
  logic [31:0] n_evt_q, n_preq_q, n_presp_q;
  initial begin n_evt_q = 0; n_preq_q = 0; n_presp_q = 0; end
  always @(posedge clk_i or posedge restart_i) begin
    if (restart_i) begin
      n_evt_q <= 0;
      n_preq_q <= 0;
      n_presp_q <= 0;
    end else if (rst_ni) begin
      n_evt_q   <= n_evt_q + 32'($countones(evt));
      n_preq_q  <= n_preq_q + 32'(periph_req_i && periph_gnt_o);
      n_presp_q <= n_presp_q + 32'(periph_r_valid_o);
    end
  end
  assign n_evt_o   = n_evt_q;
  assign n_preq_o  = n_preq_q;
  assign n_presp_o = n_presp_q;
  always @(posedge clk_i) begin
    if (rst_ni && evt != '0 && fd != 0) $fwrite(fd, "E %0d %0h\n", cycle_q, evt);
    if (fd != 0 && (flush_i || evt != '0)) $fflush(fd);
  end

  // ------------------------------------------------------------------ protocol checker
  logic            pend_q;          // last cycle had req without grant
  logic [31:0]     pend_add_q;
  logic            pend_wen_q;
  logic [DW/8-1:0] pend_be_q;
  logic [DW-1:0]   pend_data_q;
  logic [31:0]     errs_q;
  // COMB: request outputs sampled under the decoys
  logic            neg_valid_q, neg_req_q, neg_wen_q;
  logic [31:0]     neg_add_q;
  logic [DW/8-1:0] neg_be_q;
  logic [DW-1:0]   neg_data_q;
  // BUSY: consecutive cycles busy_o disagrees with the job state
  logic [15:0]     busy_low_q, busy_high_q;
  logic            load_resp_q;     // the response in this cycle answers a load
  initial begin errs_q = 0; pend_q = 0; neg_valid_q = 0; busy_low_q = 0; busy_high_q = 0; load_resp_q = 0; end
  always @(negedge clk_i or posedge restart_i) begin
    if (restart_i) begin
      neg_valid_q <= 1'b0; neg_req_q <= 1'b0; neg_add_q <= '0; neg_wen_q <= 1'b0; neg_be_q <= '0; neg_data_q <= '0;
    end else begin
    neg_valid_q <= probe_q;
    neg_req_q   <= tcdm_req;
    neg_add_q   <= tcdm_add;
    neg_wen_q   <= tcdm_wen;
    neg_be_q    <= tcdm_be;
    neg_data_q  <= tcdm_data;
    end
  end
  always @(posedge clk_i or posedge restart_i) load_resp_q <= restart_i ? 1'b0 : tcdm_req && tcdm_gnt && tcdm_wen;
  always @(posedge clk_i or posedge restart_i) begin : rules
    int unsigned nerr;  // rules broken in this cycle (several may be)
    nerr = 0;
    if (restart_i) begin
      pend_q <= 1'b0; pend_add_q <= '0; pend_wen_q <= 1'b0; pend_be_q <= '0; pend_data_q <= '0;
      busy_low_q <= 0;
      busy_high_q <= 0;
    end else if (!rst_ni) begin
      pend_q <= 1'b0;
      busy_low_q <= 0;
      busy_high_q <= 0;
    end else begin
      if (tcdm_r_valid && load_resp_q && !tcdm_r_ready) begin
        nerr++;
        if (fd != 0) $fwrite(fd, "X %0d RESP load response while tcdm_r_ready_o is low: the DUT cannot hold a response back\n",
                             cycle_q);
      end
      if (neg_valid_q && (tcdm_req != neg_req_q || (tcdm_req && (tcdm_add != neg_add_q || tcdm_wen != neg_wen_q ||
                                                                 tcdm_be != neg_be_q || tcdm_data != neg_data_q)))) begin
        nerr++;
        if (fd != 0) $fwrite(fd, "X %0d COMB request outputs changed with tcdm_gnt_i/tcdm_r_valid_i alone: req %0d->%0d add %08h->%08h wen %0d->%0d be %0h->%0h\n",
                             cycle_q, neg_req_q, tcdm_req, neg_add_q, tcdm_add, neg_wen_q, tcdm_wen, neg_be_q, tcdm_be);
      end
      busy_low_q  <= (busy_slack_i != 0 && job_active_i && !busy_o) ? busy_low_q + 16'(busy_low_q != 16'hFFFF) : 16'd0;
      busy_high_q <= (busy_slack_i != 0 && !job_active_i && busy_o) ? busy_high_q + 16'(busy_high_q != 16'hFFFF) : 16'd0;
      if (busy_slack_i != 0 && busy_low_q == busy_slack_i) begin
        nerr++;
        if (fd != 0) $fwrite(fd, "X %0d BUSY busy_o low for %0d cycles while a job is outstanding\n", cycle_q, busy_slack_i);
      end
      if (busy_slack_i != 0 && busy_high_q == busy_slack_i) begin
        nerr++;
        if (fd != 0) $fwrite(fd, "X %0d BUSY busy_o high for %0d cycles while no job is outstanding\n", cycle_q, busy_slack_i);
      end
      if (pend_q && !tcdm_req && !waive_rq4_i) begin
        nerr++;
        if (fd != 0) $fwrite(fd, "X %0d RQ-4 request withdrawn before grant: add=%08h wen=%0d\n",
                             cycle_q, pend_add_q, pend_wen_q);
      end else if (pend_q && tcdm_req &&
                   (tcdm_add != pend_add_q || tcdm_wen != pend_wen_q || tcdm_be != pend_be_q ||
                    tcdm_data != pend_data_q)) begin
        nerr++;
        if (fd != 0) $fwrite(fd, "X %0d RQ-3 request changed while waiting for grant: add %08h->%08h wen %0d->%0d be %0h->%0h data %0h->%0h\n",
                             cycle_q, pend_add_q, tcdm_add, pend_wen_q, tcdm_wen, pend_be_q, tcdm_be,
                             pend_data_q, tcdm_data);
      end
      if (tcdm_req && tcdm_add[1:0] != 2'b00) begin
        nerr++;
        if (fd != 0) $fwrite(fd, "X %0d ALIGN misaligned TCDM address %08h\n", cycle_q, tcdm_add);
      end
      pend_q      <= tcdm_req && !tcdm_gnt;
      pend_add_q  <= tcdm_add;
      pend_wen_q  <= tcdm_wen;
      pend_be_q   <= tcdm_be;
      pend_data_q <= tcdm_data;
    end
    errs_q <= restart_i ? 32'd0 : errs_q + nerr;
    if (fd != 0 && flush_i && nerr != 0) $fflush(fd);
  end
  assign proto_errs_o = errs_q;

  // ------------------------------------------------------------------ watchdog
  logic [31:0] since_hs_q, idle_offer_q;
  logic [63:0] gnt_cycles_q;
  logic [31:0] last_add_q;
  logic        last_wen_q;
  initial begin since_hs_q = 0; idle_offer_q = 0; gnt_cycles_q = 0; last_add_q = 0; last_wen_q = 0; end
  always @(posedge clk_i or posedge restart_i) begin
    if (restart_i) begin
      since_hs_q <= 0; idle_offer_q <= 0; gnt_cycles_q <= 0; last_add_q <= 0; last_wen_q <= 0;
    end else begin
    if (tcdm_req && tcdm_gnt) begin
      since_hs_q <= 0;
      last_add_q <= tcdm_add;
      last_wen_q <= tcdm_wen;
    end else since_hs_q <= since_hs_q + 1;
    if (progress_clr_i || !job_active_i || (tcdm_req && tcdm_gnt) || evt != '0) idle_offer_q <= 0;
    else if (offer) idle_offer_q <= idle_offer_q + 1;
    if (progress_clr_i || !job_active_i) gnt_cycles_q <= 0;
    else if (offer) gnt_cycles_q <= gnt_cycles_q + 1;
    end
  end
  assign since_hs_o   = since_hs_q;
  assign last_add_o   = last_add_q;
  assign last_wen_o   = last_wen_q;
  assign gnt_cycles_o = gnt_cycles_q;
  assign hang_cause_o = (hang_limit_i != 0 && idle_offer_q >= hang_limit_i) ? 2'd1 :
                        (budget_limit_i != 0 && gnt_cycles_q >= budget_limit_i) ? 2'd2 : 2'd0;
  assign hang_o = job_active_i && hang_cause_o != 2'd0;

endmodule
