// redmule: top level of the project's RedMulE ("RedMulE in cluster", spec
// section 2): the register file / job-context controller and the engine
// behind the flat port contract.
//
//   periph_* --> redmule_regfile --job--> redmule_engine --> tcdm_* (DW bits)
//                      ^------ job_done / engine_idle -----'
//
// Parameters: L x H compute elements with P FMA pipeline registers; the
// memory port is DW = 16*H*(P+1) + 32 bits wide (one tile row of FP16 plus a
// spare word for element-aligned, non word-aligned row starts).
// Timing: see redmule_regfile (register port, events) and redmule_engine
// (job execution). tcdm_r_ready_o is tied high; test_mode_i is unused.
module redmule #(
  parameter int unsigned L        = 12,
  parameter int unsigned H        = 4,
  parameter int unsigned P        = 3,
  parameter int unsigned N_CORES  = 8,
  parameter int unsigned ID_WIDTH = 8,
  localparam int unsigned DW = 16 * H * (P + 1) + 32
) (
  input  logic                     clk_i,
  input  logic                     rst_ni,
  /* verilator lint_off UNUSEDSIGNAL */
  input  logic                     test_mode_i,  // spec: tie 0; no test logic inside
  /* verilator lint_on UNUSEDSIGNAL */
  output logic                     busy_o,
  output logic [N_CORES-1:0][1:0]  evt_o,
  // register port
  input  logic                     periph_req_i,
  output logic                     periph_gnt_o,
  input  logic [31:0]              periph_add_i,
  input  logic                     periph_wen_i,
  input  logic [3:0]               periph_be_i,
  input  logic [31:0]              periph_data_i,
  input  logic [ID_WIDTH-1:0]      periph_id_i,
  output logic                     periph_r_valid_o,
  output logic [31:0]              periph_r_data_o,
  output logic [ID_WIDTH-1:0]      periph_r_id_o,
  // TCDM port
  output logic                     tcdm_req_o,
  input  logic                     tcdm_gnt_i,
  output logic [31:0]              tcdm_add_o,
  output logic                     tcdm_wen_o,
  output logic [DW/8-1:0]          tcdm_be_o,
  output logic [DW-1:0]            tcdm_data_o,
  output logic                     tcdm_r_ready_o,
  input  logic [DW-1:0]            tcdm_r_data_i,
  input  logic                     tcdm_r_valid_i
);

  logic        job_start, soft_clear, engine_idle, job_done;
  logic [31:0] job_x_ptr, job_w_ptr, job_z_ptr;
  logic [15:0] job_m, job_n, job_k;
  logic [2:0]  job_op, job_fmt;

  redmule_regfile #(.N_CORES(N_CORES), .ID_WIDTH(ID_WIDTH)) i_regfile (
    .clk_i, .rst_ni,
    .periph_req_i, .periph_gnt_o, .periph_add_i, .periph_wen_i, .periph_be_i,
    .periph_data_i, .periph_id_i, .periph_r_valid_o, .periph_r_data_o, .periph_r_id_o,
    .job_start_o    (job_start),
    .job_x_ptr_o    (job_x_ptr),
    .job_w_ptr_o    (job_w_ptr),
    .job_z_ptr_o    (job_z_ptr),
    .job_m_o        (job_m),
    .job_n_o        (job_n),
    .job_k_o        (job_k),
    .job_op_o       (job_op),
    .job_fmt_o      (job_fmt),
    .soft_clear_o   (soft_clear),
    .engine_idle_i  (engine_idle),
    .job_done_i     (job_done),
    .busy_o,
    .evt_o
  );

  redmule_engine #(.L(L), .H(H), .P(P)) i_engine (
    .clk_i, .rst_ni,
    .job_start_i   (job_start),
    .job_x_ptr_i   (job_x_ptr),
    .job_w_ptr_i   (job_w_ptr),
    .job_z_ptr_i   (job_z_ptr),
    .job_m_i       (job_m),
    .job_n_i       (job_n),
    .job_k_i       (job_k),
    .job_op_i      (job_op),
    .job_fmt_i     (job_fmt),
    .soft_clear_i  (soft_clear),
    .engine_idle_o (engine_idle),
    .job_done_o    (job_done),
    .tcdm_req_o, .tcdm_gnt_i, .tcdm_add_o, .tcdm_wen_o, .tcdm_be_o, .tcdm_data_o,
    .tcdm_r_data_i, .tcdm_r_valid_i
  );

  assign tcdm_r_ready_o = 1'b1;

endmodule
