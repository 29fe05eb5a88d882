// redmule_regfile: RedMulE's memory-mapped register file and job-context
// controller (spec sections 2 and 3).
//
// Role: answers the cores' register port, keeps 2 job contexts
// (FREE / RESERVED / QUEUED / RUNNING) and an 8-bit job-id counter, starts
// the triggered jobs on the engine in trigger order and turns the engine's
// completion into STATUS, FINISHED and a per-core event.
//
// Timing: every output is a flop or a function of flops only, except
// job_start_o, which also depends combinationally on engine_idle_i (so that
// it can never be high while engine_idle_i is low; engine_idle_i must not
// depend combinationally on job_start_o).
//  * periph_gnt_o is tied high. A request in cycle t is answered in cycle t+1
//    (periph_r_valid_o, periph_r_id_o, periph_r_data_o; r_data is 0 for
//    writes). A read returns the state at the start of cycle t, i.e. before
//    the effects of any event of cycle t; its side effects (ACQUIRE reserving,
//    FINISHED clearing) and a write's effects are visible to a request of
//    cycle t+1.
//  * job_start_o is high in cycle t iff no context is RUNNING, a context is
//    QUEUED and engine_idle_i is high in cycle t; the oldest QUEUED context
//    (trigger order) is RUNNING from t+1 and RUNNING_JOB shows its id.
//    job_*_o show the oldest QUEUED context's registers while none is
//    RUNNING (so they are valid with job_start_o) and the RUNNING context's
//    registers while one runs (stable: they cannot be written then).
//    A TRIGGER written in cycle t can start the job in cycle t+1 at the earliest.
//  * job_done_i in cycle t (taken only while a context is RUNNING, ignored
//    otherwise): the context is FREE, the STATUS byte 0 and FINISHED counted
//    from cycle t+1, evt_o pulses in cycle t+1, and the next QUEUED job can
//    start in cycle t+1.
//  * SOFT_CLEAR write in cycle t: every context FREE from t+1, soft_clear_o
//    pulses in t+1 (together with the write's response). It wins over every
//    other event of cycle t: a job_done_i of cycle t gives no event and no
//    FINISHED count. A job_start_o of cycle t (it does not look at the
//    register port) still goes out and updates RUNNING_JOB; soft_clear_o in
//    t+1 aborts that job.
//
// Interpretation choices (where spec section 3 is silent):
//  * Byte enables: a write stores only its enabled bytes; a write with
//    periph_be_i = 0 writes nothing and has no effect at all (not even on
//    TRIGGER or SOFT_CLEAR). For TRIGGER and SOFT_CLEAR, which hold no state
//    (they read 0), the value written is data masked by the byte enables
//    (the disabled bytes keep the register's value, 0): "write 0" means
//    (periph_data_i & byte-mask) == 0 with at least one byte enabled. Reads
//    ignore periph_be_i and return the whole word.
//  * The mapped offsets are 0x00..0x14 and 0x40..0x54 (add[9:8] = 0) plus
//    the read-only context views 0x140..0x154 (context 0), 0x240..0x254
//    (context 1) and 0x340..0x354 (reads 0). Every other offset of the
//    window, including 0x100..0x114, 0x200..0x214 and 0x300..0x314, reads 0
//    and ignores writes (no ACQUIRE side effect, no TRIGGER, no SOFT_CLEAR).
//    So job-register writes count only at 0x40..0x54, and go to the RESERVED
//    context. (The same reading as verif/ctrl_model.py.)
//  * The job registers keep all 32 bits and read back what was written; the
//    bits the job does not use (0x50 [31:16], 0x54 outside [12:7]) are
//    ignored by the engine only (the same as verif/reg_model.py).
//  * TRIGGER records the lowest set bit of periph_id_i below N_CORES as the
//    core to signal. A trigger whose id has no bit below N_CORES still queues
//    and runs the job, but its completion raises no event.
//  * Anybody may write the job registers and TRIGGER of the RESERVED context
//    (the reserving core is not recorded). A new ACQUIRE does not clear the
//    reserved context's job registers: they keep the last values written.
//  * SOFT_CLEAR(0) clears the job-id counter, FINISHED and all job registers of both
//    contexts, but not RUNNING_JOB (it keeps the id of the last job started).
//  * busy_o is high while any context is QUEUED or RUNNING (from the TRIGGER
//    write of a job until its completion, without a gap between back-to-back
//    queued jobs); it falls with the completion or a SOFT_CLEAR.
//
// Lint: verilator --lint-only -Wall clean. periph_add_i[31:10] and [1:0] are
// deliberately unused (spec: ignore add bits above 9; word registers).
module redmule_regfile
  import redmule_pkg::*;
#(
  parameter int unsigned N_CORES  = 8,
  parameter int unsigned ID_WIDTH = 8
) (
  input  logic                      clk_i,
  input  logic                      rst_ni,
  // register port (flat, spec section 2)
  input  logic                      periph_req_i,
  output logic                      periph_gnt_o,
  input  logic [31:0]               periph_add_i,
  input  logic                      periph_wen_i,  // 1 = read, 0 = write
  input  logic [3:0]                periph_be_i,
  input  logic [31:0]               periph_data_i,
  input  logic [ID_WIDTH-1:0]       periph_id_i,
  output logic                      periph_r_valid_o,
  output logic [31:0]               periph_r_data_o,
  output logic [ID_WIDTH-1:0]       periph_r_id_o,
  // job to the engine
  output logic                      job_start_o,
  output logic [31:0]               job_x_ptr_o,
  output logic [31:0]               job_w_ptr_o,
  output logic [31:0]               job_z_ptr_o,
  output logic [15:0]               job_m_o,
  output logic [15:0]               job_n_o,
  output logic [15:0]               job_k_o,
  output logic [2:0]                job_op_o,
  output logic [2:0]                job_fmt_o,
  output logic                      soft_clear_o,
  input  logic                      engine_idle_i,
  input  logic                      job_done_i,
  output logic                      busy_o,
  output logic [N_CORES-1:0][1:0]   evt_o
);

  typedef enum logic [1:0] {
    CTX_FREE     = 2'd0,
    CTX_RESERVED = 2'd1,
    CTX_QUEUED   = 2'd2,
    CTX_RUNNING  = 2'd3
  } ctx_state_e;

  localparam int unsigned NCTX  = 2;
  // id bits that can name a core: below N_CORES (and below ID_WIDTH)
  localparam int unsigned ID_NC = (N_CORES < ID_WIDTH) ? N_CORES : ID_WIDTH;

  // ------------------------------------------------------------------ state
  ctx_state_e             ctx_q      [NCTX];
  ctx_state_e             ctx_d      [NCTX];
  logic [7:0]             ctx_id_q   [NCTX];  // job id held by the context
  logic [7:0]             ctx_id_d   [NCTX];
  logic [N_CORES-1:0]     ctx_core_q [NCTX];  // one-hot core to signal (0: none)
  logic [N_CORES-1:0]     ctx_core_d [NCTX];
  logic [31:0]            x_q [NCTX], w_q [NCTX], z_q [NCTX], mk_q [NCTX];
  logic [31:0]            x_d [NCTX], w_d [NCTX], z_d [NCTX], mk_d [NCTX];
  logic [31:0]            n_q [NCTX], n_d [NCTX];      // N in [15:0]
  logic [31:0]            cfg_q [NCTX], cfg_d [NCTX];  // op [12:10], fmt [9:7]

  logic [7:0]             next_id_q, next_id_d;      // id of the next ACQUIRE
  logic [1:0]             finished_q, finished_d;    // saturating at 2
  logic [7:0]             running_job_q, running_job_d;
  logic                   run_ctx_q, run_ctx_d;      // context last started
  logic                   last_trig_q, last_trig_d;  // context last triggered
  logic                   soft_clear_q, soft_clear_d;
  logic [N_CORES-1:0]     evt_q, evt_d;
  logic                   r_valid_q;
  logic [31:0]            r_data_q, r_data_d;
  logic [ID_WIDTH-1:0]    r_id_q;

  // ------------------------------------------------------------------ decode
  logic [5:0]  reg_idx;
  logic [1:0]  ctx_sel;
  logic        sel0;  // add[9:8] = 0: the only quarter where registers take writes
  logic        rd, wr;
  logic [31:0] wmask, wval;

  assign reg_idx = periph_add_i[7:2];
  assign ctx_sel = periph_add_i[9:8];
  assign sel0    = ctx_sel == 2'd0;
  assign rd      = periph_req_i &  periph_wen_i;
  assign wr      = periph_req_i & ~periph_wen_i & (|periph_be_i);
  assign wmask   = {{8{periph_be_i[3]}}, {8{periph_be_i[2]}}, {8{periph_be_i[1]}}, {8{periph_be_i[0]}}};
  assign wval    = periph_data_i & wmask;

  logic unused_add;
  assign unused_add = ^{periph_add_i[31:10], periph_add_i[1:0]};

  function automatic logic [31:0] merge(input logic [31:0] old_val, input logic [31:0] new_val,
                                        input logic [31:0] mask);
    return (old_val & ~mask) | (new_val & mask);
  endfunction

  // Core to signal: lowest set bit of periph_id_i below N_CORES, one-hot
  logic [N_CORES-1:0] id_cores, trig_core;
  assign id_cores  = N_CORES'(periph_id_i[ID_NC-1:0]);
  assign trig_core = id_cores & (~id_cores + N_CORES'(1));

  // Context summary
  logic       res_any, res_ctx;   // a context is RESERVED, and which
  logic       run_any;            // a context is RUNNING
  logic [1:0] active;             // per context: QUEUED or RUNNING
  logic [1:0] queued;
  always_comb begin
    res_any = 1'b0;
    res_ctx = 1'b0;
    run_any = 1'b0;
    for (int unsigned c = 0; c < NCTX; c++) begin
      if (ctx_q[c] == CTX_RESERVED) begin
        res_any = 1'b1;
        res_ctx = 1'(c);
      end
      if (ctx_q[c] == CTX_RUNNING) run_any = 1'b1;
      queued[c] = (ctx_q[c] == CTX_QUEUED);
      active[c] = (ctx_q[c] == CTX_QUEUED) || (ctx_q[c] == CTX_RUNNING);
    end
  end

  // ------------------------------------------------------------------ next state
  logic wr_trigger, wr_soft_clear, sc_all, rd_acquire, acq_ok, done;
  logic start_ctx, start, fld_ctx;

  assign wr_trigger    = wr && sel0 && (reg_idx == REG_TRIGGER) && (wval == 32'd0);
  assign wr_soft_clear = wr && sel0 && (reg_idx == REG_SOFT_CLEAR);
  assign sc_all        = wval == 32'd0;
  assign rd_acquire    = rd && sel0 && (reg_idx == REG_ACQUIRE);
  assign acq_ok        = !res_any && (ctx_q[next_id_q[0]] == CTX_FREE);
  assign done          = job_done_i && run_any;
  // oldest QUEUED context: if both are QUEUED, the one not triggered last
  assign start_ctx     = (queued[0] && queued[1]) ? ~last_trig_q : queued[1];
  assign start         = !run_any && (|queued) && engine_idle_i;
  // context shown on job_*_o: the RUNNING one, else the one to start next
  assign fld_ctx       = run_any ? run_ctx_q : start_ctx;

  always_comb begin
    for (int unsigned c = 0; c < NCTX; c++) begin
      ctx_d[c]      = ctx_q[c];
      ctx_id_d[c]   = ctx_id_q[c];
      ctx_core_d[c] = ctx_core_q[c];
      x_d[c]        = x_q[c];
      w_d[c]        = w_q[c];
      z_d[c]        = z_q[c];
      mk_d[c]       = mk_q[c];
      n_d[c]        = n_q[c];
      cfg_d[c]      = cfg_q[c];
    end
    next_id_d     = next_id_q;
    finished_d    = finished_q;
    running_job_d = running_job_q;
    run_ctx_d     = run_ctx_q;
    last_trig_d   = last_trig_q;
    soft_clear_d  = 1'b0;
    evt_d         = '0;

    // completion of the RUNNING job
    if (done) begin
      ctx_d[run_ctx_q] = CTX_FREE;
      evt_d            = ctx_core_q[run_ctx_q];
    end
    if (rd && sel0 && (reg_idx == REG_FINISHED)) finished_d = 2'd0;
    if (done && (finished_d != 2'd2)) finished_d = finished_d + 2'd1;

    // start the oldest QUEUED job
    if (start) begin
      ctx_d[start_ctx] = CTX_RUNNING;
      run_ctx_d        = start_ctx;
      running_job_d    = ctx_id_q[start_ctx];
    end

    // ACQUIRE
    if (rd_acquire && acq_ok) begin
      ctx_d[next_id_q[0]]    = CTX_RESERVED;
      ctx_id_d[next_id_q[0]] = next_id_q;
      next_id_d              = next_id_q + 8'd1;
    end

    // TRIGGER
    if (wr_trigger && res_any) begin
      ctx_d[res_ctx]      = CTX_QUEUED;
      ctx_core_d[res_ctx] = trig_core;
      last_trig_d         = res_ctx;
    end

    // job registers: writes (at add[9:8] = 0) go to the RESERVED context
    if (wr && sel0 && res_any) begin
      unique case (reg_idx)
        REG_X_PTR: x_d[res_ctx]  = merge(x_q[res_ctx], periph_data_i, wmask);
        REG_W_PTR: w_d[res_ctx]  = merge(w_q[res_ctx], periph_data_i, wmask);
        REG_Z_PTR: z_d[res_ctx]  = merge(z_q[res_ctx], periph_data_i, wmask);
        REG_MK:    mk_d[res_ctx] = merge(mk_q[res_ctx], periph_data_i, wmask);
        REG_N:     n_d[res_ctx]  = merge(n_q[res_ctx], periph_data_i, wmask);
        REG_OPFMT: cfg_d[res_ctx] = merge(cfg_q[res_ctx], periph_data_i, wmask);
        default: ;
      endcase
    end

    // SOFT_CLEAR wins over everything of this cycle
    if (wr_soft_clear) begin
      soft_clear_d = 1'b1;
      evt_d        = '0;
      finished_d   = finished_q;
      for (int unsigned c = 0; c < NCTX; c++) ctx_d[c] = CTX_FREE;
      if (sc_all) begin
        next_id_d  = 8'd0;
        finished_d = 2'd0;
        for (int unsigned c = 0; c < NCTX; c++) begin
          x_d[c]     = 32'd0;
          w_d[c]     = 32'd0;
          z_d[c]     = 32'd0;
          mk_d[c]    = 32'd0;
          n_d[c]     = 32'd0;
          cfg_d[c]   = 32'd0;
        end
      end
    end
  end

  // ------------------------------------------------------------------ read data
  logic       rd_ctx_ok;  // the read names an existing context
  logic       rd_ctx;
  always_comb begin
    unique case (ctx_sel)
      2'd0:    begin rd_ctx_ok = res_any; rd_ctx = res_ctx; end
      2'd1:    begin rd_ctx_ok = 1'b1;    rd_ctx = 1'b0;    end
      2'd2:    begin rd_ctx_ok = 1'b1;    rd_ctx = 1'b1;    end
      default: begin rd_ctx_ok = 1'b0;    rd_ctx = 1'b0;    end
    endcase
  end

  always_comb begin
    r_data_d = 32'd0;
    if (rd) begin
      unique case (reg_idx)
        // control registers exist at add[9:8] = 0 only
        REG_ACQUIRE:     r_data_d = !sel0  ? 32'd0
                                  : res_any ? 32'hFFFF_FFFE
                                  : (acq_ok ? {24'd0, next_id_q} : 32'hFFFF_FFFF);
        REG_FINISHED:    r_data_d = sel0 ? {30'd0, finished_q} : 32'd0;
        REG_STATUS:      r_data_d = sel0 ? {23'd0, active[1], 7'd0, active[0]} : 32'd0;
        REG_RUNNING_JOB: r_data_d = sel0 ? {24'd0, running_job_q} : 32'd0;
        REG_X_PTR:       r_data_d = rd_ctx_ok ? x_q[rd_ctx]  : 32'd0;
        REG_W_PTR:       r_data_d = rd_ctx_ok ? w_q[rd_ctx]  : 32'd0;
        REG_Z_PTR:       r_data_d = rd_ctx_ok ? z_q[rd_ctx]  : 32'd0;
        REG_MK:          r_data_d = rd_ctx_ok ? mk_q[rd_ctx] : 32'd0;
        REG_N:           r_data_d = rd_ctx_ok ? n_q[rd_ctx]   : 32'd0;
        REG_OPFMT:       r_data_d = rd_ctx_ok ? cfg_q[rd_ctx] : 32'd0;
        default:         r_data_d = 32'd0;  // TRIGGER, SOFT_CLEAR, unmapped
      endcase
    end
  end

  // ------------------------------------------------------------------ flops
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int unsigned c = 0; c < NCTX; c++) begin
        ctx_q[c]      <= CTX_FREE;
        ctx_id_q[c]   <= 8'd0;
        ctx_core_q[c] <= '0;
        x_q[c]        <= 32'd0;
        w_q[c]        <= 32'd0;
        z_q[c]        <= 32'd0;
        mk_q[c]       <= 32'd0;
        n_q[c]        <= 32'd0;
        cfg_q[c]      <= 32'd0;
      end
      next_id_q     <= 8'd0;
      finished_q    <= 2'd0;
      running_job_q <= 8'd0;
      run_ctx_q     <= 1'b0;
      last_trig_q   <= 1'b0;
      soft_clear_q  <= 1'b0;
      evt_q         <= '0;
      r_valid_q     <= 1'b0;
      r_data_q      <= 32'd0;
      r_id_q        <= '0;
    end else begin
      for (int unsigned c = 0; c < NCTX; c++) begin
        ctx_q[c]      <= ctx_d[c];
        ctx_id_q[c]   <= ctx_id_d[c];
        ctx_core_q[c] <= ctx_core_d[c];
        x_q[c]        <= x_d[c];
        w_q[c]        <= w_d[c];
        z_q[c]        <= z_d[c];
        mk_q[c]       <= mk_d[c];
        n_q[c]        <= n_d[c];
        cfg_q[c]      <= cfg_d[c];
      end
      next_id_q     <= next_id_d;
      finished_q    <= finished_d;
      running_job_q <= running_job_d;
      run_ctx_q     <= run_ctx_d;
      last_trig_q   <= last_trig_d;
      soft_clear_q  <= soft_clear_d;
      evt_q         <= evt_d;
      r_valid_q     <= periph_req_i;
      r_data_q      <= r_data_d;
      if (periph_req_i) r_id_q <= periph_id_i;
    end
  end

  // ------------------------------------------------------------------ outputs
  assign periph_gnt_o     = 1'b1;
  assign periph_r_valid_o = r_valid_q;
  assign periph_r_data_o  = r_data_q;
  assign periph_r_id_o    = r_id_q;

  assign job_start_o  = start;
  assign job_x_ptr_o  = x_q[fld_ctx];
  assign job_w_ptr_o  = w_q[fld_ctx];
  assign job_z_ptr_o  = z_q[fld_ctx];
  assign job_m_o      = mk_q[fld_ctx][15:0];
  assign job_k_o      = mk_q[fld_ctx][31:16];
  assign job_n_o      = n_q[fld_ctx][15:0];
  assign job_op_o     = cfg_q[fld_ctx][12:10];
  assign job_fmt_o    = cfg_q[fld_ctx][9:7];
  assign soft_clear_o = soft_clear_q;
  assign busy_o       = |active;

  for (genvar c = 0; c < N_CORES; c++) begin : gen_evt
    assign evt_o[c] = {1'b0, evt_q[c]};
  end

endmodule
