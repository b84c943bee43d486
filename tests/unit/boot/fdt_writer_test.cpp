#include "boot/fdt_writer.hpp"

#include <gtest/gtest.h>

extern "C" {
#include <libfdt.h>
}

#include <string>
#include <string_view>
#include <vector>

namespace vireo::boot {
namespace {

std::vector<uint32_t> cells(const void* fdt, int node, const char* name) {
  int len = 0;
  const auto* p = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, name, &len));
  std::vector<uint32_t> out;
  if (p == nullptr) return out;
  for (int i = 0; i < len / 4; ++i) out.push_back(fdt32_to_cpu(p[i]));
  return out;
}

TEST(FdtWriter, BuildsAValidTreeThatReadsBack) {
  FdtWriter w;
  const uint32_t ph = w.alloc_phandle();
  EXPECT_EQ(ph, 1u);
  EXPECT_EQ(w.alloc_phandle(), 2u);
  w.begin_node("");
  w.prop_u32("#address-cells", 2);
  w.prop_string("model", "test");
  w.begin_node("node@1000");
  w.prop_empty("flag");
  w.prop_u64("big", 0x1122334455667788ull);
  w.prop_reg64("reg", 0x1'2345'6789ull, 0x1000);
  w.prop_cells("list", {1, 2, 0xffffffffu});
  w.prop_strings("compatible", {"vendor,a", "b"});
  w.prop_u32("phandle", ph);
  w.end_node();
  w.end_node();
  auto blob = w.finish();
  ASSERT_TRUE(blob) << blob.error().message;
  const void* fdt = blob->data();
  ASSERT_EQ(fdt_check_header(fdt), 0);
  EXPECT_EQ(fdt_totalsize(fdt), blob->size());  // trimmed to the tree

  const int root = fdt_path_offset(fdt, "/");
  ASSERT_GE(root, 0);
  EXPECT_EQ(cells(fdt, root, "#address-cells"), (std::vector<uint32_t>{2}));
  EXPECT_STREQ(static_cast<const char*>(fdt_getprop(fdt, root, "model", nullptr)), "test");

  const int node = fdt_path_offset(fdt, "/node@1000");
  ASSERT_GE(node, 0);
  int len = -1;
  EXPECT_NE(fdt_getprop(fdt, node, "flag", &len), nullptr);
  EXPECT_EQ(len, 0);
  EXPECT_EQ(cells(fdt, node, "big"), (std::vector<uint32_t>{0x11223344, 0x55667788}));
  EXPECT_EQ(cells(fdt, node, "reg"), (std::vector<uint32_t>{0x1, 0x23456789, 0, 0x1000}));
  EXPECT_EQ(cells(fdt, node, "list"), (std::vector<uint32_t>{1, 2, 0xffffffffu}));
  const char* compat = static_cast<const char*>(fdt_getprop(fdt, node, "compatible", &len));
  ASSERT_NE(compat, nullptr);
  EXPECT_EQ(std::string(compat, static_cast<size_t>(len)), std::string("vendor,a\0b\0", 11));
  EXPECT_EQ(fdt_node_check_compatible(fdt, node, "b"), 0);
  EXPECT_EQ(fdt_node_offset_by_phandle(fdt, ph), node);
}

TEST(FdtWriter, EmptyStringListAndCellList) {
  FdtWriter w;
  w.begin_node("");
  w.prop_cells("none", std::span<const uint32_t>());
  w.prop_strings("nostr", {});
  w.prop_string("empty", "");
  w.end_node();
  auto blob = w.finish();
  ASSERT_TRUE(blob) << blob.error().message;
  int len = -1;
  EXPECT_NE(fdt_getprop(blob->data(), 0, "none", &len), nullptr);
  EXPECT_EQ(len, 0);
  EXPECT_NE(fdt_getprop(blob->data(), 0, "empty", &len), nullptr);
  EXPECT_EQ(len, 1);  // just the NUL
}

TEST(FdtWriter, RunningOutOfSpaceIsAnErrorNotACrash) {
  FdtWriter w(256);
  w.begin_node("");
  for (int i = 0; i < 100; ++i) w.prop_string(("p" + std::to_string(i)).c_str(), "0123456789");
  w.end_node();
  auto blob = w.finish();
  ASSERT_FALSE(blob);
  EXPECT_EQ(blob.error().code, ErrorCode::kInternal);
  EXPECT_NE(blob.error().message.find("device tree"), std::string::npos) << blob.error().message;
}

TEST(FdtWriter, UnbalancedNodesAreReported) {
  FdtWriter w;
  w.begin_node("");
  w.begin_node("open");
  w.end_node();
  // Root left open: the blob would be structurally broken (fdt_check_full
  // fails), so finish() must report it rather than hand it to the guest.
  EXPECT_FALSE(w.finish());

  FdtWriter extra;
  extra.begin_node("");
  extra.end_node();
  extra.end_node();  // one more than was opened
  EXPECT_FALSE(extra.finish());
}

}  // namespace
}  // namespace vireo::boot
