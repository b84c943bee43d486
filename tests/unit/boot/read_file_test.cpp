#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "boot/elf.hpp"

namespace vireo::boot {
namespace {

namespace fs = std::filesystem;

class ReadFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vireo-read-file-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::vector<uint8_t>& bytes) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return p.string();
  }
  fs::path dir_;
};

TEST_F(ReadFile, ReadsTheWholeFile) {
  std::vector<uint8_t> bytes(300'000);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 13);
  auto r = read_file(write("k", bytes), "kernel");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, bytes);
}

TEST_F(ReadFile, EmptyFile) {
  auto r = read_file(write("empty", {}), "initrd");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
}

TEST_F(ReadFile, MissingFileNamesThePath) {
  const std::string path = (dir_ / "does-not-exist").string();
  auto r = read_file(path, "kernel");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find(path), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("kernel"), std::string::npos) << r.error().message;
}

TEST_F(ReadFile, Directory) {
  auto r = read_file(dir_.string(), "kernel");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("not a regular file"), std::string::npos) << r.error().message;
}

TEST_F(ReadFile, CharacterDevice) {
  auto r = read_file("/dev/null", "initrd");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(ReadFile, MissingParentDirectory) {
  auto r = read_file((dir_ / "no" / "such" / "file").string(), "firmware");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  auto notdir = read_file(write("plain", {1}) + "/child", "firmware");
  ASSERT_FALSE(notdir);  // ENOTDIR: some error, not a crash
}

TEST_F(ReadFile, Unreadable) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads everything";
  const std::string path = write("secret", {1, 2, 3});
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  auto r = read_file(path, "kernel");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermission);
}

TEST_F(ReadFile, FifoIsRejectedWithoutBlocking) {
  // `--kernel some-fifo` must fail fast, not hang waiting for a writer.
  const std::string path = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  auto pending = std::async(std::launch::async, [&] { return read_file(path, "kernel"); });
  const bool finished = pending.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
  if (!finished) {
    // Unblock the reader's open() so the test can end.
    const int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) ::close(fd);
  }
  auto r = pending.get();
  EXPECT_TRUE(finished) << "read_file blocked opening a FIFO";
  EXPECT_FALSE(r);
}

}  // namespace
}  // namespace vireo::boot
