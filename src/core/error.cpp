#include "core/error.hpp"

#include <cerrno>
#include <cstring>

namespace vireo {

std::unexpected<Error> errno_error(ErrorCode code, const std::string& what) {
  return make_error(code, what + ": " + std::strerror(errno));
}

}  // namespace vireo
