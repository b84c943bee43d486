#include "devices/virtio/device.hpp"

namespace vireo::virtio {

std::string_view device_id_name(uint32_t id) {
  switch (static_cast<DeviceId>(id)) {
    case DeviceId::kNet:
      return "net";
    case DeviceId::kBlock:
      return "block";
    case DeviceId::kConsole:
      return "console";
    case DeviceId::kEntropy:
      return "entropy";
    case DeviceId::kVsock:
      return "vsock";
  }
  return "device";
}

}  // namespace vireo::virtio
