// Sv39 page tables: see vm.inc.
#define VM_LEVELS 3
#include "vm.inc"
