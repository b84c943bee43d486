// Places a board's virtio devices in its virtio-mmio slots: device i gets
// the slot at base + i * slot_size on the board's MMIO bus and interrupt
// line i from the board. Shared by every board.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "core/bus.hpp"
#include "core/error.hpp"
#include "core/event_loop.hpp"
#include "core/guest_memory.hpp"
#include "core/irq.hpp"
#include "devices/virtio/device.hpp"
#include "devices/virtio/transport_mmio.hpp"

namespace vireo {

struct VirtioSlots {
  uint64_t base;
  uint64_t slot_size;
  uint32_t count;
  std::string_view machine;  // for the error when there are too many devices
};

// Builds every device and its transport. `irq_for(i)` is slot i's line.
Result<std::vector<std::unique_ptr<virtio::MmioTransport>>> build_virtio_slots(
    const VirtioSlots& slots, std::span<const virtio::DeviceFactory> factories,
    const GuestMemory& memory, EventLoop& loop, Bus& bus,
    const std::function<IrqLine(uint32_t slot)>& irq_for);

}  // namespace vireo
