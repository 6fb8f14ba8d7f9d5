// xxHash built for the compilation target's baseline (SSE2 on x86-64).
#define MLXPACK_XXH_TABLE generic_table
#include "format/src/checksum_xxh3.inc"
