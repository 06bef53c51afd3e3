// A failed file operation, with the errno and the path, so the binding layer can raise the
// matching OSError subclass (PermissionError, FileNotFoundError, ...) with `filename` set.
#pragma once
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace pfn {

class FileError : public std::runtime_error {
 public:
  // `what` says what failed ("cannot open", "error writing", ...); errno is read now.
  FileError(const std::string& what, const std::string& path, int err = errno)
      : std::runtime_error(what + " " + path + ": " + (err ? std::strerror(err) : "unexpected end of data")),
        err(err), path(path), reason(what + ": " + (err ? std::strerror(err) : "unexpected end of data")) {}
  int err;
  std::string path;
  std::string reason;  // the message without the path (OSError puts the path in `filename`)
};

}  // namespace pfn
