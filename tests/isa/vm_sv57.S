// Sv57 page tables: see vm.inc.
#define VM_LEVELS 5
#include "vm.inc"
