// perf's jitdump file (cpu/riscv/jit/jitdump.hpp): the file the JIT writes
// for `perf inject --jit`, read back here field by field as perf reads it.
#include "cpu/riscv/jit/jitdump.hpp"

#include <elf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "hart_fixture.hpp"

namespace vireo::riscv::test {
namespace {

struct Record {
  uint32_t id;
  uint64_t timestamp;
  uint64_t vma, code_addr, code_size, code_index;
  std::string name;
  std::vector<uint8_t> code;
};

class JitDumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vireo-jitdump-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path() const { return dir_ + "/jit-" + std::to_string(::getpid()) + ".dump"; }

  template <class T>
  static T get(const std::vector<uint8_t>& b, size_t at) {
    T v;
    std::memcpy(&v, b.data() + at, sizeof v);
    return v;
  }

  // Checks the header and splits the records.
  std::vector<Record> read_back() {
    std::ifstream f(path(), std::ios::binary);
    std::vector<uint8_t> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<Record> out;
    EXPECT_GE(b.size(), 40u);
    if (b.size() < 40) return out;
    EXPECT_EQ(get<uint32_t>(b, 0), JitDump::kMagic);
    EXPECT_EQ(get<uint32_t>(b, 4), JitDump::kVersion);
    EXPECT_EQ(get<uint32_t>(b, 8), 40u) << "header size";
    EXPECT_EQ(get<uint32_t>(b, 12), uint32_t{EM_X86_64});
    EXPECT_EQ(get<uint32_t>(b, 20), static_cast<uint32_t>(::getpid()));
    EXPECT_EQ(get<uint64_t>(b, 32), 0u) << "flags: CLOCK_MONOTONIC timestamps";
    size_t at = 40;
    while (at + 16 <= b.size()) {
      Record r{};
      r.id = get<uint32_t>(b, at);
      const uint32_t size = get<uint32_t>(b, at + 4);
      r.timestamp = get<uint64_t>(b, at + 8);
      EXPECT_LE(at + size, b.size()) << "record past the end of the file";
      if (size < 16 || at + size > b.size()) break;
      if (r.id == JitDump::kCodeLoad) {
        EXPECT_EQ(get<uint32_t>(b, at + 16), static_cast<uint32_t>(::getpid()));
        r.vma = get<uint64_t>(b, at + 24);
        r.code_addr = get<uint64_t>(b, at + 32);
        r.code_size = get<uint64_t>(b, at + 40);
        r.code_index = get<uint64_t>(b, at + 48);
        r.name = reinterpret_cast<const char*>(b.data() + at + 56);
        const size_t code_at = at + 56 + r.name.size() + 1;
        EXPECT_EQ(code_at + r.code_size, at + size) << "record size";
        r.code.assign(b.begin() + static_cast<ptrdiff_t>(code_at),
                      b.begin() + static_cast<ptrdiff_t>(code_at + r.code_size));
      }
      out.push_back(std::move(r));
      at += size;
    }
    EXPECT_EQ(at, b.size()) << "trailing bytes";
    return out;
  }

  std::string dir_;
};

TEST_F(JitDumpTest, CodeLoadsFromSeveralThreadsThenClose) {
  auto dump = JitDump::create(dir_);
  ASSERT_TRUE(dump.has_value()) << dump.error().message;
  EXPECT_EQ((*dump)->path(), path());
  const std::vector<uint8_t> a = {0x90, 0xc3}, b(300, 0xcc);
  (*dump)->code_load(reinterpret_cast<const void*>(0x7000'1000), a.data(), a.size(), "riscv:1000");
  std::thread t([&] {
    (*dump)->code_load(reinterpret_cast<const void*>(0x7000'2000), b.data(), b.size(),
                       "riscv:ffffffff80002000 (pa 80002000)");
  });
  t.join();
  dump->reset();  // closes the file with a JIT_CODE_CLOSE record

  const std::vector<Record> recs = read_back();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].id, JitDump::kCodeLoad);
  EXPECT_EQ(recs[0].vma, 0x7000'1000u);
  EXPECT_EQ(recs[0].code_addr, 0x7000'1000u);
  EXPECT_EQ(recs[0].name, "riscv:1000");
  EXPECT_EQ(recs[0].code, a);
  EXPECT_EQ(recs[1].code_addr, 0x7000'2000u);
  EXPECT_EQ(recs[1].name, "riscv:ffffffff80002000 (pa 80002000)");
  EXPECT_EQ(recs[1].code, b);
  EXPECT_NE(recs[0].code_index, recs[1].code_index) << "every load has its own index";
  EXPECT_LE(recs[0].timestamp, recs[1].timestamp);
  EXPECT_EQ(recs[2].id, JitDump::kCodeClose);
}

TEST_F(JitDumpTest, MissingDirectoryIsAUserError) {
  auto dump = JitDump::create(dir_ + "/nodir");
  ASSERT_FALSE(dump.has_value());
  EXPECT_EQ(dump.error().code, ErrorCode::kNotFound);
  EXPECT_NE(dump.error().message.find("--jitdump"), std::string::npos);
}

// A JIT hart records its runtime and every block it translates, each load
// holding the code as it stands in the executable view.
class JitDumpHartTest : public HartFixture {
 protected:
  JitDumpHartTest() : HartFixture(/*harts=*/0) {}  // the test makes its own
};

TEST_F(JitDumpHartTest, TranslatedBlocksAreRecorded) {
  char tmpl[] = "/tmp/vireo-jitdump-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  auto dump = JitDump::create(dir);
  ASSERT_TRUE(dump.has_value());
  HartConfig hc;
  hc.jit = true;
  hc.jitdump = dump->get();
  Hart h(hc, memory_, bus_, clock_, host_, *shared_);
  host_.harts.push_back(&h);
  h.reset(kCode, Priv::kMachine, 0, 0, 0);
  // a loop of 1000 iterations: hot, so translated
  code(kCode, {enc::addi(kT0, 0, 1000), enc::addi(kT0, kT0, -1), 0xfe029ee3 /* bnez t0, -4 */,
               enc::jal_self()});
  EXPECT_GT(h.run_for(5000), 0u);
  ASSERT_GT(h.jit_blocks_translated(), 0u);
  host_.harts.pop_back();

  std::ifstream f(dir + "/jit-" + std::to_string(::getpid()) + ".dump", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(bytes.find("vireo-jit-runtime (hart 0)"), std::string::npos);
  EXPECT_NE(bytes.find("riscv:80000004 (pa 80000004)"), std::string::npos)
      << "the loop's block, named by its guest address";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vireo::riscv::test
