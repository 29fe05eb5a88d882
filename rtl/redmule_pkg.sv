// redmule_pkg: constants shared by the RedMulE RTL (spec sections 3 and 4).
//
// Owner: the register-file developer (rtl/redmule_regfile.sv). Kept small on
// purpose: GEMM-op and format codes as carried on job_op_o / job_fmt_o of
// redmule_regfile (reg 0x54 bits [12:10] and [9:7]), and the register offsets.
// Pure constants, no logic and no timing. Compile it before any file that
// imports it (a directory build puts *_pkg.sv first).
package redmule_pkg;

  // Waiver: a package of shared constants cannot know which of them a given
  // design uses; Verilator flags every constant the elaborated top leaves unused.
  /* verilator lint_off UNUSEDPARAM */

  // GEMM-ops (spec section 4): z = f2(f1(x, w), z)
  localparam logic [2:0] OP_MATMUL = 3'd0;  // fma, z from +0 (Y not read)
  localparam logic [2:0] OP_GEMM   = 3'd1;  // fma, z from Y
  localparam logic [2:0] OP_ADDMAX = 3'd2;
  localparam logic [2:0] OP_ADDMIN = 3'd3;
  localparam logic [2:0] OP_MULMAX = 3'd4;
  localparam logic [2:0] OP_MULMIN = 3'd5;
  localparam logic [2:0] OP_MAXMIN = 3'd6;
  localparam logic [2:0] OP_MINMAX = 3'd7;

  // Formats (spec section 4): codes 3..7 are unsupported (job completes, no TCDM access)
  localparam logic [2:0] FMT_FP8    = 3'd0;  // E5M2, 1 byte
  localparam logic [2:0] FMT_FP16   = 3'd1;  // IEEE binary16, 2 bytes
  localparam logic [2:0] FMT_FP8ALT = 3'd2;  // E4M3 IEEE-like, 1 byte

  // Register indices (add[7:2]) of the 1 KiB register window (spec section 3)
  localparam logic [5:0] REG_TRIGGER     = 6'h00;  // 0x00
  localparam logic [5:0] REG_ACQUIRE     = 6'h01;  // 0x04
  localparam logic [5:0] REG_FINISHED    = 6'h02;  // 0x08
  localparam logic [5:0] REG_STATUS      = 6'h03;  // 0x0C
  localparam logic [5:0] REG_RUNNING_JOB = 6'h04;  // 0x10
  localparam logic [5:0] REG_SOFT_CLEAR  = 6'h05;  // 0x14
  localparam logic [5:0] REG_X_PTR       = 6'h10;  // 0x40
  localparam logic [5:0] REG_W_PTR       = 6'h11;  // 0x44
  localparam logic [5:0] REG_Z_PTR       = 6'h12;  // 0x48
  localparam logic [5:0] REG_MK          = 6'h13;  // 0x4C: K [31:16], M [15:0]
  localparam logic [5:0] REG_N           = 6'h14;  // 0x50: N [15:0]
  localparam logic [5:0] REG_OPFMT       = 6'h15;  // 0x54: op [12:10], fmt [9:7]
  /* verilator lint_on UNUSEDPARAM */

endpackage
