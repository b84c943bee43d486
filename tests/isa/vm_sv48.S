// Sv48 page tables: see vm.inc.
#define VM_LEVELS 4
#include "vm.inc"
