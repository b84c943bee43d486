#include "devices/legacy/uart16550.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "fake_irq_sink.hpp"

namespace vireo {
namespace {

constexpr uint64_t kRbr = 0, kThr = 0, kDll = 0, kIer = 1, kDlm = 1, kIir = 2, kFcr = 2, kLcr = 3,
                   kMcr = 4, kLsr = 5, kMsr = 6, kScr = 7;
constexpr uint32_t kIrq = 10;

class UartTest : public ::testing::Test {
 protected:
  UartTest()
      : uart_(IrqLine(&sink_, kIrq),
              [this](uint8_t b) { output_.push_back(static_cast<char>(b)); }) {}

  uint8_t rd(uint64_t reg) { return static_cast<uint8_t>(uart_.read(reg, 1)); }
  void wr(uint64_t reg, uint8_t value) { uart_.write(reg, 1, value); }
  void feed(const std::string& s) {
    uart_.receive(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }
  bool irq() const { return sink_.level(kIrq); }

  test::FakeIrqSink sink_;
  std::string output_;
  Uart16550 uart_;
};

TEST_F(UartTest, ResetState) {
  EXPECT_EQ(rd(kIer), 0);
  EXPECT_EQ(rd(kIir), 0x01);
  EXPECT_EQ(rd(kLcr), 0);
  EXPECT_EQ(rd(kMcr), 0);
  EXPECT_EQ(rd(kLsr), 0x60);
  EXPECT_EQ(rd(kMsr), 0xb0);
  EXPECT_FALSE(irq());
  EXPECT_TRUE(uart_.can_receive());
}

TEST_F(UartTest, TransmitsToSink) {
  for (char c : std::string("hi\n")) wr(kThr, static_cast<uint8_t>(c));
  EXPECT_EQ(output_, "hi\n");
  EXPECT_EQ(rd(kLsr) & 0x60, 0x60);
}

TEST_F(UartTest, DivisorLatch) {
  wr(kLcr, 0x83);
  wr(kDll, 0x0c);
  wr(kDlm, 0x01);
  EXPECT_EQ(rd(kDll), 0x0c);
  EXPECT_EQ(rd(kDlm), 0x01);
  EXPECT_TRUE(output_.empty());  // a DLL write is not a transmission
  wr(kLcr, 0x03);
  EXPECT_EQ(rd(kLcr), 0x03);
  EXPECT_EQ(rd(kIer), 0);  // IER untouched by the DLM write
  wr(kThr, 'x');
  EXPECT_EQ(output_, "x");
  wr(kLcr, 0x83);
  EXPECT_EQ(rd(kDll), 0x0c);  // the THR write did not reach DLL
}

TEST_F(UartTest, ScratchRegister) {
  wr(kScr, 0x5a);
  EXPECT_EQ(rd(kScr), 0x5a);
}

TEST_F(UartTest, ThreInterruptOnIerWrite) {
  wr(kIer, 0x02);
  EXPECT_TRUE(irq());
  EXPECT_EQ(rd(kIir), 0x02);
  // Reading IIR acknowledged it.
  EXPECT_FALSE(irq());
  EXPECT_EQ(rd(kIir), 0x01);
  // Re-enabling ETBEI while THR is empty raises it again.
  wr(kIer, 0x00);
  wr(kIer, 0x02);
  EXPECT_TRUE(irq());
  EXPECT_EQ(rd(kIir), 0x02);
  // Rewriting the same IER value does not.
  wr(kIer, 0x02);
  EXPECT_FALSE(irq());
}

TEST_F(UartTest, ThreInterruptAfterTransmit) {
  wr(kIer, 0x02);
  rd(kIir);
  ASSERT_FALSE(irq());
  wr(kThr, 'a');
  EXPECT_TRUE(irq());
  EXPECT_EQ(rd(kIir), 0x02);
  EXPECT_FALSE(irq());
}

TEST_F(UartTest, LoopbackEchoesWithoutOutput) {
  wr(kMcr, 0x10);
  wr(kThr, 'Q');
  EXPECT_TRUE(output_.empty());
  EXPECT_EQ(rd(kLsr) & 0x01, 0x01);
  EXPECT_EQ(rd(kRbr), 'Q');
  EXPECT_EQ(rd(kLsr) & 0x01, 0x00);
  // Host input waits while in loopback, then arrives once it ends.
  feed("h");
  EXPECT_EQ(rd(kLsr) & 0x01, 0x00);
  wr(kMcr, 0x00);
  EXPECT_EQ(rd(kLsr) & 0x01, 0x01);
  EXPECT_EQ(rd(kRbr), 'h');
}

TEST_F(UartTest, LoopbackModemLines) {
  // The probe Linux's 8250 autoconfig runs: RTS|OUT2 loop back to CTS|DCD.
  wr(kMcr, 0x10 | 0x0a);
  EXPECT_EQ(rd(kMsr) & 0xf0, 0x90);
  wr(kMcr, 0x10 | 0x05);  // DTR|OUT1 -> DSR|RI
  EXPECT_EQ(rd(kMsr) & 0xf0, 0x60);
  wr(kMcr, 0x00);
  EXPECT_EQ(rd(kMsr) & 0xf0, 0xb0);
}

TEST_F(UartTest, ModemStatusInterrupt) {
  wr(kIer, 0x08);
  EXPECT_FALSE(irq());
  rd(kMsr);
  wr(kMcr, 0x10 | 0x0b);  // loopback, DTR|RTS|OUT2: DSR, CTS, DCD stay high
  EXPECT_FALSE(irq());
  wr(kMcr, 0x10 | 0x09);  // drop RTS: CTS falls
  EXPECT_TRUE(irq());
  EXPECT_EQ(rd(kIir), 0x00);
  EXPECT_EQ(rd(kMsr), 0xa0 | 0x01);  // DCTS
  EXPECT_FALSE(irq());
  EXPECT_EQ(rd(kMsr), 0xa0);
  wr(kMcr, 0x10 | 0x0d);  // OUT1 up: RI rises (no delta)...
  EXPECT_FALSE(irq());
  wr(kMcr, 0x10 | 0x09);  // ...and falls: TERI
  EXPECT_EQ(rd(kMsr) & 0x0f, 0x04);
}

TEST_F(UartTest, NonFifoReceive) {
  wr(kIer, 0x01);
  feed("abc");
  EXPECT_TRUE(irq());
  EXPECT_EQ(rd(kIir), 0x04);  // no FIFO bits
  EXPECT_EQ(rd(kLsr) & 0x01, 0x01);
  EXPECT_EQ(rd(kRbr), 'a');
  EXPECT_EQ(rd(kRbr), 'b');
  EXPECT_TRUE(irq());
  EXPECT_EQ(rd(kRbr), 'c');
  EXPECT_EQ(rd(kLsr) & 0x03, 0x00);  // no data, no overrun: the host queue absorbed it
  EXPECT_FALSE(irq());
}

TEST_F(UartTest, FifoTriggerLevelAndTimeout) {
  wr(kFcr, 0x81);  // FIFO on, trigger at 8
  EXPECT_EQ(rd(kIir), 0xc1);
  wr(kIer, 0x01);
  EXPECT_FALSE(irq());
  feed("abc");
  EXPECT_TRUE(irq());
  EXPECT_EQ(rd(kIir), 0xcc);  // below the trigger: character timeout
  feed("defgh");
  EXPECT_EQ(rd(kIir), 0xc4);  // at the trigger: data available
  std::string got;
  while (rd(kLsr) & 0x01) got.push_back(static_cast<char>(rd(kRbr)));
  EXPECT_EQ(got, "abcdefgh");
  EXPECT_EQ(rd(kIir), 0xc1);
  EXPECT_FALSE(irq());
  EXPECT_EQ(rd(kRbr), 0);  // empty FIFO reads 0
}

TEST_F(UartTest, FifoResetClearsReceiver) {
  wr(kFcr, 0x01);
  feed("0123456789abcdefXYZ");  // 16 in the FIFO, 3 still queued
  wr(kFcr, 0x03);               // clear the receive FIFO: the queue refills it
  EXPECT_EQ(rd(kRbr), 'X');
  EXPECT_EQ(rd(kRbr), 'Y');
  EXPECT_EQ(rd(kRbr), 'Z');
  EXPECT_EQ(rd(kLsr) & 0x01, 0);
}

TEST_F(UartTest, DisablingFifoFlushesIt) {
  wr(kFcr, 0x01);
  wr(kMcr, 0x10);
  wr(kThr, '1');
  wr(kThr, '2');
  wr(kFcr, 0x00);
  EXPECT_EQ(rd(kLsr) & 0x01, 0);
  EXPECT_EQ(rd(kIir), 0x01);
}

TEST_F(UartTest, HostQueueDrainsInOrder) {
  wr(kFcr, 0x07);
  std::string input;
  for (int i = 0; i < 1000; ++i) input.push_back(static_cast<char>('a' + i % 26));
  feed(input);
  std::string got;
  while (rd(kLsr) & 0x01) got.push_back(static_cast<char>(rd(kRbr)));
  EXPECT_EQ(got, input);
}

TEST_F(UartTest, HostQueueIsBounded) {
  wr(kFcr, 0x01);
  std::vector<uint8_t> big(10000, 'z');
  const size_t accepted = uart_.receive(big);
  EXPECT_EQ(accepted, Uart16550::kHostQueueSize + Uart16550::kFifoSize);
  EXPECT_FALSE(uart_.can_receive());
  EXPECT_EQ(uart_.receive(big), 0u);
  rd(kRbr);
  EXPECT_TRUE(uart_.can_receive());
  EXPECT_EQ(rd(kLsr) & 0x02, 0);  // the host side never overruns the FIFO
}

TEST_F(UartTest, OverrunInLoopbackRaisesLineStatus) {
  wr(kMcr, 0x10);
  wr(kIer, 0x05);  // RDI | RLSI
  wr(kThr, '1');
  EXPECT_EQ(rd(kIir), 0x04);
  wr(kThr, '2');              // RBR still full: overrun
  EXPECT_EQ(rd(kIir), 0x06);  // line status beats data available
  EXPECT_EQ(rd(kLsr) & 0x03, 0x03);
  EXPECT_EQ(rd(kLsr) & 0x02, 0x00);  // OE clears on read
  EXPECT_EQ(rd(kIir), 0x04);
  EXPECT_EQ(rd(kRbr), '2');
  EXPECT_FALSE(irq());
}

TEST_F(UartTest, FifoOverrunKeepsContents) {
  wr(kFcr, 0x01);
  wr(kMcr, 0x10);
  for (int i = 0; i < 17; ++i) wr(kThr, static_cast<uint8_t>('A' + i));
  EXPECT_EQ(rd(kLsr) & 0x02, 0x02);
  std::string got;
  while (rd(kLsr) & 0x01) got.push_back(static_cast<char>(rd(kRbr)));
  EXPECT_EQ(got, "ABCDEFGHIJKLMNOP");
}

TEST_F(UartTest, InterruptPriority) {
  wr(kFcr, 0x01);
  wr(kIer, 0x0f);
  wr(kMcr, 0x10);                              // loopback: modem lines change -> MSI delta
  EXPECT_EQ(rd(kIir), 0xc2);                   // THRE beats MSI (THRE raised by the IER write)
  EXPECT_EQ(rd(kIir), 0xc0);                   // then MSI
  for (int i = 0; i < 17; ++i) wr(kThr, 'x');  // overflow; THRE pending again
  EXPECT_EQ(rd(kIir), 0xc6);                   // line status first
  rd(kLsr);
  EXPECT_EQ(rd(kIir), 0xc4);  // then received data (16 >= trigger 1)
  while (rd(kLsr) & 0x01) rd(kRbr);
  EXPECT_EQ(rd(kIir), 0xc2);
  EXPECT_EQ(rd(kIir), 0xc0);
  rd(kMsr);
  EXPECT_EQ(rd(kIir), 0xc1);
  EXPECT_FALSE(irq());
}

TEST_F(UartTest, BadOffsetsAreHarmless) {
  EXPECT_EQ(uart_.read(8, 1), 0u);
  EXPECT_EQ(uart_.read(0xff, 1), 0u);
  uart_.write(8, 1, 'x');
  uart_.write(UINT64_MAX, 1, 'x');
  EXPECT_TRUE(output_.empty());
  wr(kLsr, 0x00);  // read-only
  wr(kMsr, 0x00);
  EXPECT_EQ(rd(kLsr), 0x60);
  EXPECT_EQ(rd(kMsr), 0xb0);
  // A wide write acts on the byte register.
  uart_.write(kThr, 4, 0x12345641);
  EXPECT_EQ(output_, "A");
}

TEST_F(UartTest, ConcurrentInputAndDrain) {
  wr(kFcr, 0x01);
  constexpr int kBytes = 20000;
  std::thread producer([this] {
    for (int i = 0; i < kBytes;) {
      const uint8_t b = static_cast<uint8_t>(i);
      if (uart_.receive(std::span(&b, 1)) == 1) {
        ++i;
      } else {
        std::this_thread::yield();
      }
    }
  });
  int next = 0;
  while (next < kBytes) {
    if (rd(kLsr) & 0x01) {
      ASSERT_EQ(rd(kRbr), static_cast<uint8_t>(next));
      ++next;
    }
  }
  producer.join();
}

TEST(UartNoSink, TransmitWithoutSinkOrIrq) {
  Uart16550 uart(IrqLine(), nullptr);
  uart.write(1, 1, 0x0f);
  uart.write(0, 1, 'x');
  EXPECT_EQ(uart.read(2, 1), 0x02u);
}

}  // namespace
}  // namespace vireo
