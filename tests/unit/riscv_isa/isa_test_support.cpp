// The semantics-test fixture's hart: a single M-mode hart on a machine with
// RAM only, no devices and no SBI.
#include "isa_test_support.hpp"

namespace vireo::riscv::testing {

class IsaTest::NullHost final : public HartHost {
 public:
  explicit NullHost(IsaTest& test) : test_(test) {}
  uint32_t hart_count() const override { return 1; }
  Hart* hart(uint32_t id) override { return id == 0 ? &test_.hart() : nullptr; }
  void request_stop(StopKind, int) override {}
  bool stop_requested() const override { return false; }
  void sbi_console_write(std::span<const uint8_t>) override {}
  int sbi_console_read() override { return -1; }

 private:
  IsaTest& test_;
};

IsaTest::IsaTest() {
  const auto added = memory_.add_ram(GuestAddr(kRamBase), kRamSize);
  EXPECT_TRUE(added.has_value());
  host_ = std::make_unique<NullHost>(*this);
  shared_ = std::make_unique<HartShared>(memory_);
  hart_ = std::make_unique<Hart>(HartConfig{}, memory_, bus_, clock_, *host_, *shared_);
  hart_->reset(kCodePc, Priv::kMachine, 0, 0, 0);
  EXPECT_TRUE(hart_->csr_write(kMtvec, kTrapVector));
}

IsaTest::~IsaTest() = default;

uint8_t* IsaTest::ram(uint64_t addr) {
  auto host = memory_.host_range(GuestAddr(addr), 8);
  EXPECT_TRUE(host.has_value());
  return host ? *host : nullptr;
}

}  // namespace vireo::riscv::testing
