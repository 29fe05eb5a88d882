// redmule_published: the published PULP RedMulE (`redmule_top`) behind the flat
// port contract of the spec, section 2 ("RedMulE in cluster").
//
// This adapter is the project's own code. It needs the published sources
// (redmule_top and its packages, and the interfaces hwpe_ctrl_intf_periph,
// hci_core_intf and cv32e40x_if_xif with hci_helpers.svh) on the compile line,
// e.g. through `redmule-verif ... --rtl PATH/TO/redmule/Bender.yml --top redmule_published`.
//
// What it does:
//   * register port: the flat periph_* signals drive a hwpe_ctrl_intf_periph
//     (ID_WIDTH bits of id). The published slave ties gnt high and answers
//     every request one cycle later with r_valid, r_data and the request's id,
//     as section 2 asks, so the adapter only wires it through.
//   * wide port: an hci_core_intf sized through the HCI size-parameter struct
//     (`HCI_SIZE_PARAM(tcdm)): DW = redmule_pkg::DATA_W (288 bits), default
//     address/byte/user/id widths, no ECC (EW = EHW = the hci defaults, 1 bit,
//     so redmule_top's HCI_ECC = EW > 1 is 0). The memory side of HCI fields
//     that the flat contract does not carry is tied: r_opc = 0 (no error),
//     r_user = 0, r_id = 0 (the published streamer regenerates response ids
//     itself, hci_core_r_id_filter), r_ecc = 0, egnt follows gnt and r_evalid
//     follows r_valid (what hci's own filters derive when EHW > 0). The DUT's
//     user, id, ecc, ereq and r_eready outputs are not part of the contract.
//   * CV-X-IF: X_EXT = 0 (the register port programs the engine); the
//     cv32e40x_if_xif instance is kept idle: no compressed/issue/commit
//     requests, no memory responses or results, result_ready high.
//   * geometry: the published geometry is fixed by redmule_pkg (ARRAY_WIDTH,
//     ARRAY_HEIGHT, PIPE_REGS, DATA_W): L, H and P are accepted so that the
//     harness can pass them, and any other value than the published one is an
//     elaboration error that names the requested and the published values.
//     (Verilator reports an elaboration-time $fatal as USERFATAL, which a
//     -Wno-fatal build demotes to a warning: the framework's build adds
//     -Werror-USERFATAL; the same check also stops the simulation at time 0.)

`include "hci_helpers.svh"

module redmule_published #(
  parameter int unsigned L        = 12,  // rows of the array        (redmule_pkg::ARRAY_WIDTH)
  parameter int unsigned H        = 4,   // CEs of a row             (redmule_pkg::ARRAY_HEIGHT)
  parameter int unsigned P        = 3,   // pipeline registers a CE  (redmule_pkg::PIPE_REGS)
  parameter int unsigned N_CORES  = 8,
  parameter int unsigned ID_WIDTH = 8,
  localparam int unsigned DW      = 16 * H * (P + 1) + 32  // the contract's port width
) (
  input  logic                      clk_i,
  input  logic                      rst_ni,
  input  logic                      test_mode_i,
  output logic                      busy_o,
  output logic [N_CORES-1:0][1:0]   evt_o,
  // register port
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
  // wide TCDM port
  output logic                      tcdm_req_o,
  input  logic                      tcdm_gnt_i,
  output logic [31:0]               tcdm_add_o,
  output logic                      tcdm_wen_o,
  output logic [DW/8-1:0]           tcdm_be_o,
  output logic [DW-1:0]             tcdm_data_o,
  output logic                      tcdm_r_ready_o,
  input  logic [DW-1:0]             tcdm_r_data_i,
  input  logic                      tcdm_r_valid_i
);

  // ------------------------------------------------------------------ geometry
  localparam int unsigned PUB_L  = redmule_pkg::ARRAY_WIDTH;
  localparam int unsigned PUB_H  = redmule_pkg::ARRAY_HEIGHT;
  localparam int unsigned PUB_P  = redmule_pkg::PIPE_REGS;
  localparam int unsigned PUB_DW = redmule_pkg::DATA_W;

  if (L != PUB_L || H != PUB_H || P != PUB_P || DW != PUB_DW) begin : gen_geometry_mismatch
    $fatal(1, "redmule_published: geometry mismatch: requested L=%0d H=%0d P=%0d (port width %0d bits), but the published RedMulE is fixed by redmule_pkg to L=ARRAY_WIDTH=%0d H=ARRAY_HEIGHT=%0d P=PIPE_REGS=%0d (DATA_W=%0d bits): build with -P L=%0d -P H=%0d -P P=%0d, or change redmule_pkg",
           L, H, P, DW, PUB_L, PUB_H, PUB_P, PUB_DW, PUB_L, PUB_H, PUB_P);
    initial $fatal(1, "redmule_published: geometry mismatch: requested L=%0d H=%0d P=%0d, published L=%0d H=%0d P=%0d (redmule_pkg)",
                   L, H, P, PUB_L, PUB_H, PUB_P);
  end

  // ------------------------------------------------------------------ interfaces
  localparam hci_package::hci_size_parameter_t `HCI_SIZE_PARAM(tcdm) = '{
    DW:  PUB_DW,
    AW:  hci_package::DEFAULT_AW,
    BW:  hci_package::DEFAULT_BW,
    UW:  hci_package::DEFAULT_UW,
    IW:  hci_package::DEFAULT_IW,
    EW:  hci_package::DEFAULT_EW,
    EHW: hci_package::DEFAULT_EHW
  };
  localparam int unsigned TCDM_EHW = `HCI_SIZE_PARAM(tcdm).EHW;

  hwpe_ctrl_intf_periph #(.ID_WIDTH(ID_WIDTH)) periph (.clk(clk_i));

  hci_core_intf #(
    .DW  (`HCI_SIZE_PARAM(tcdm).DW),
    .AW  (`HCI_SIZE_PARAM(tcdm).AW),
    .BW  (`HCI_SIZE_PARAM(tcdm).BW),
    .UW  (`HCI_SIZE_PARAM(tcdm).UW),
    .IW  (`HCI_SIZE_PARAM(tcdm).IW),
    .EW  (`HCI_SIZE_PARAM(tcdm).EW),
    .EHW (`HCI_SIZE_PARAM(tcdm).EHW)
  ) tcdm (.clk(clk_i));

  cv32e40x_if_xif xif ();

  // ------------------------------------------------------------------ register port
  assign periph.req       = periph_req_i;
  assign periph.add       = periph_add_i;
  assign periph.wen       = periph_wen_i;
  assign periph.be        = periph_be_i;
  assign periph.data      = periph_data_i;
  assign periph.id        = periph_id_i;
  assign periph_gnt_o     = periph.gnt;
  assign periph_r_valid_o = periph.r_valid;
  assign periph_r_data_o  = periph.r_data;
  assign periph_r_id_o    = periph.r_id;

  // ------------------------------------------------------------------ wide port
  assign tcdm_req_o     = tcdm.req;
  assign tcdm_add_o     = tcdm.add;
  assign tcdm_wen_o     = tcdm.wen;
  assign tcdm_be_o      = (DW/8)'(tcdm.be);
  assign tcdm_data_o    = DW'(tcdm.data);
  assign tcdm_r_ready_o = tcdm.r_ready;
  assign tcdm.gnt       = tcdm_gnt_i;
  assign tcdm.r_valid   = tcdm_r_valid_i;
  assign tcdm.r_data    = PUB_DW'(tcdm_r_data_i);
  assign tcdm.r_opc     = 1'b0;
  assign tcdm.r_user    = '0;
  assign tcdm.r_id      = '0;
  assign tcdm.r_ecc     = '0;
  assign tcdm.egnt      = {TCDM_EHW{tcdm_gnt_i}};
  assign tcdm.r_evalid  = {TCDM_EHW{tcdm_r_valid_i}};

  // ------------------------------------------------------------------ CV-X-IF, idle
  assign xif.compressed_valid = 1'b0;
  assign xif.compressed_req   = '0;
  assign xif.issue_valid      = 1'b0;
  assign xif.issue_req        = '0;
  assign xif.commit_valid     = 1'b0;
  assign xif.commit           = '0;
  assign xif.mem_ready        = 1'b0;
  assign xif.mem_resp         = '0;
  assign xif.mem_result_valid = 1'b0;
  assign xif.mem_result       = '0;
  assign xif.result_ready     = 1'b1;

  // ------------------------------------------------------------------ the published engine
  redmule_top #(
    .ID_WIDTH              (ID_WIDTH),
    .N_CORES               (N_CORES),
    .X_EXT                 (0),
    .`HCI_SIZE_PARAM(tcdm) (`HCI_SIZE_PARAM(tcdm))
  ) i_redmule_top (
    .clk_i               (clk_i),
    .rst_ni              (rst_ni),
    .test_mode_i         (test_mode_i),
    .busy_o              (busy_o),
    .evt_o               (evt_o),
    .xif_issue_if_i      (xif),
    .xif_result_if_o     (xif),
    .xif_compressed_if_i (xif),
    .xif_mem_if_o        (xif),
    .periph              (periph),
    .tcdm                (tcdm)
  );

  // what the contract does not carry
  logic unused;
  assign unused = ^{tcdm.user, tcdm.id, tcdm.ecc, tcdm.ereq, tcdm.r_eready, xif.compressed_ready,
                    xif.compressed_resp, xif.issue_ready, xif.issue_resp, xif.mem_valid, xif.mem_req,
                    xif.result_valid, xif.result};
endmodule
