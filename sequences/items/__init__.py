"""Job items: what one GEMM-Op job is, how it is encoded, checked and written down."""
