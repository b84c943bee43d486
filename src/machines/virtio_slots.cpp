#include "machines/virtio_slots.hpp"

#include <fmt/format.h>

namespace vireo {

Result<std::vector<std::unique_ptr<virtio::MmioTransport>>> build_virtio_slots(
    const VirtioSlots& slots, std::span<const virtio::DeviceFactory> factories,
    const GuestMemory& memory, EventLoop& loop, Bus& bus,
    const std::function<IrqLine(uint32_t slot)>& irq_for) {
  if (factories.size() > slots.count) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("{} virtio devices requested: {} has {} virtio-mmio slots",
                                  factories.size(), slots.machine, slots.count));
  }
  std::vector<std::unique_ptr<virtio::MmioTransport>> out;
  for (uint32_t i = 0; i < factories.size(); ++i) {
    auto device = factories[i](loop);
    if (!device) return std::unexpected(device.error());
    const uint64_t base = slots.base + i * slots.slot_size;
    const std::string name = fmt::format("virtio_mmio@{:x}", base);
    auto transport =
        virtio::MmioTransport::create(std::move(*device), memory, irq_for(i), &loop, name);
    if (!transport) return std::unexpected(transport.error());
    if (auto r = bus.add(GuestAddr(base), slots.slot_size, transport->get(), name); !r) {
      return std::unexpected(r.error());
    }
    out.push_back(std::move(*transport));
  }
  return out;
}

}  // namespace vireo
