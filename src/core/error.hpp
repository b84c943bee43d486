// Errors as values: every fallible operation returns Result<T>.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <utility>

namespace vireo {

enum class ErrorCode : uint8_t {
  kInvalidArgument,  // bad user input (CLI, config)
  kNotFound,         // missing file or resource
  kPermission,       // no permission
  kOutOfRange,       // address/length outside a region
  kBadFormat,        // a file is not what it claims to be
  kIo,               // host I/O failure
  kUnsupported,      // feature not available on this host or guest
  kGuest,            // the guest broke a protocol
  kInternal,
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> make_error(ErrorCode code, std::string message) {
  return std::unexpected(Error{code, std::move(message)});
}

// Result of a host system call failure: message plus strerror(errno).
std::unexpected<Error> errno_error(ErrorCode code, const std::string& what);

}  // namespace vireo
