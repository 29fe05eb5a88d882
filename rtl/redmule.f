// Compile order, package first. Paths are relative to this list (build layer);
// the +incdir+ lets verilator -f rtl/redmule.f run from the repository root too.
+incdir+.+rtl
redmule_pkg.sv
redmule_fp16_fma.sv
redmule_fp16_minmax.sv
redmule_fp8_to_fp16.sv
redmule_fp16_to_fp8.sv
redmule_regfile.sv
redmule_ce.sv
redmule_array.sv
redmule_w_buffer.sv
redmule_x_buffer.sv
redmule_z_buffer.sv
redmule_w_loader.sv
redmule_x_loader.sv
redmule_tile_walker.sv
redmule_streamer.sv
redmule_scheduler.sv
redmule_engine.sv
redmule.sv
