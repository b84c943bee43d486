// Page-table helpers for the ISA tests that turn the MMU on. Include after
// vireo_test.h; define VM_LEVELS (3 = Sv39, 4 = Sv48, 5 = Sv57, default 3)
// before the include.
//
//   jal ra, vm_init   builds a fresh root: gigapage identity maps of the
//                     first GiB (devices) and of RAM at 0x80000000 (RWX, A,
//                     D, not U), so S-mode code runs and can report.
//   jal ra, vm_map    a0 = va, a1 = pa, a2 = PTE flags, a3 = leaf level
//                     (0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB); allocates missing
//                     tables; returns a0 = address of the leaf PTE.
//   jal ra, vm_enable writes satp (mode + root) and fences.
// All three run in M-mode and clobber t0-t6, a0-a3 and ra only.
#ifndef VIREO_VM_H
#define VIREO_VM_H

#ifndef VM_LEVELS
#define VM_LEVELS 3
#endif

#if VM_LEVELS == 3
#define SATP_MODE SATP_MODE_SV39
#elif VM_LEVELS == 4
#define SATP_MODE SATP_MODE_SV48
#elif VM_LEVELS == 5
#define SATP_MODE SATP_MODE_SV57
#else
#error "VM_LEVELS must be 3, 4 or 5"
#endif

// Bits of a virtual address that translation uses; the bits above must all
// equal the top one (a canonical address).
#define VA_BITS (12 + 9 * VM_LEVELS)

#define VM_POOL_PAGES 24

  .pushsection .text.init, "ax", @progbits

vm_init:
  la t0, pt_pool
  li t1, VM_POOL_PAGES * 4096
  add t1, t0, t1
1:
  sd zero, 0(t0)
  addi t0, t0, 8
  bltu t0, t1, 1b
  // The root is the first page of the pool; tables are allocated after it.
  la t0, pt_pool
  li t1, 4096
  add t0, t0, t1
  la t1, pt_next
  sd t0, 0(t1)
  mv t6, ra
  li a0, 0
  li a1, 0
  li a2, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  li a3, 2
  jal ra, vm_map
  li a0, RAM_BASE
  li a1, RAM_BASE
  li a2, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
  li a3, 2
  jal ra, vm_map
  mv ra, t6
  ret

vm_map:
  mv t5, ra
  la t0, pt_pool  // table at the current level
  li t1, VM_LEVELS - 1
1:
  // t3 = &table[(va >> (12 + 9 * level)) & 511]
  li t2, 9
  mul t2, t2, t1
  addi t2, t2, 12
  srl t3, a0, t2
  andi t3, t3, 511
  slli t3, t3, 3
  add t3, t0, t3
  beq t1, a3, 3f
  ld t4, 0(t3)
  andi t2, t4, PTE_V
  bnez t2, 2f
  // Allocate the next-level table from the pool (zeroed by vm_init).
  la t2, pt_next
  ld t4, 0(t2)
  li ra, 4096
  add ra, t4, ra
  sd ra, 0(t2)
  srli t2, t4, 12
  slli t2, t2, 10
  ori t2, t2, PTE_V
  sd t2, 0(t3)
  mv t0, t4
  addi t1, t1, -1
  j 1b
2:
  srli t4, t4, 10
  slli t0, t4, 12
  addi t1, t1, -1
  j 1b
3:
  srli t4, a1, 12
  slli t4, t4, 10
  or t4, t4, a2
  sd t4, 0(t3)
  mv a0, t3
  mv ra, t5
  ret

vm_enable:
  la t0, pt_pool
  srli t0, t0, 12
  li t1, SATP_MODE
  or t0, t0, t1
  sfence.vma
  csrw satp, t0
  sfence.vma
  ret

  .popsection

  .pushsection .bss
  .align 12
pt_pool:
  .skip VM_POOL_PAGES * 4096
  .align 3
pt_next:
  .skip 8
  .popsection

#endif  // VIREO_VM_H
